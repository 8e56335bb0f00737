"""Reading mailboxes over IMAP: exactly once, in order, and never stuck on one bad message.

A message is fetched without marking it read, handed to `store` (which commits it), and only
then moved to the processed folder or flagged \\Seen; the cursor (UIDVALIDITY and last UID)
moves last. A crash between any two steps means the message is fetched again, and storage
recognises it by its Message-ID. Parsing never raises, so an unreadable message is stored raw
like any other.

A server announces new mail once, in an untagged EXISTS, during whatever command is running
when the mail arrives; IDLE does not announce it again. So a pass runs again at once when mail
was announced while it read, and a connection in IDLE is left as soon as anything (a response,
or the connection closing) arrives.
"""

from __future__ import annotations

import logging
import select
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from intake.channel import Store
from intake.email.parse import parse

log = logging.getLogger(__name__)

LoadCursor = Callable[[str], "tuple[int, int] | None"]
SaveCursor = Callable[[str, int, int], None]


@dataclass(frozen=True)
class MailboxConfig:
    host: str
    username: str
    folder: str = "INBOX"
    port: int | None = None
    tls: bool = True  # imaps:// (TLS from the start); imap:// uses STARTTLS when offered
    password: str | None = None
    oauth2_token: str | None = None  # XOAUTH2 for Microsoft 365 and Google Workspace
    processed_folder: str | None = None  # move here after storing; None flags \Seen instead
    verify_tls: bool = True
    ca_file: str | None = None  # a private CA, as many councils' internal mail servers use

    @property
    def key(self) -> str:
        return f"{self.username}@{self.host}/{self.folder}"

    @classmethod
    def from_url(cls, url: str, password: str | None = None, oauth2_token: str | None = None,
                 processed_folder: str | None = None, ca_file: str | None = None) -> MailboxConfig:
        """imaps://user@host[:port]/FOLDER; secrets come from their own settings, never the URL."""
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
            raise ValueError(f"IMAP URL must look like imaps://user@host/INBOX, not {url!r}")
        return cls(host=parts.hostname, port=parts.port, username=unquote(parts.username),
                   folder=unquote(parts.path.lstrip("/")) or "INBOX", tls=parts.scheme == "imaps",
                   password=password, oauth2_token=oauth2_token, processed_folder=processed_folder, ca_file=ca_file)


class MailboxPoller:
    def __init__(self, config: MailboxConfig, store: Store, load_cursor: LoadCursor, save_cursor: SaveCursor,
                 poll_seconds: float = 60.0, idle_seconds: float = 300.0, timeout: float = 60.0,
                 first_backoff_seconds: float = 0.5, max_backoff_seconds: float = 60.0) -> None:
        self.config = config
        self.store, self.load_cursor, self.save_cursor = store, load_cursor, save_cursor
        self.poll_seconds, self.idle_seconds, self.timeout = poll_seconds, idle_seconds, timeout
        self.first_backoff_seconds, self.max_backoff_seconds = first_backoff_seconds, max_backoff_seconds
        self.stopping = threading.Event()
        # Set while the poller has read everything and listens (in IDLE, or between polls) on a live
        # connection, so mail arriving now is picked up; clear while it reads, reconnects or backs off.
        self.listening = threading.Event()

    def connect(self) -> IMAPClient:
        context = ssl.create_default_context(cafile=self.config.ca_file)
        if not self.config.verify_tls:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        port = self.config.port or (993 if self.config.tls else 143)
        client = IMAPClient(self.config.host, port=port, ssl=self.config.tls, ssl_context=context,
                            timeout=self.timeout)
        if not self.config.tls and client.has_capability("STARTTLS"):
            client.starttls(context)
        if self.config.oauth2_token:
            client.oauth2_login(self.config.username, self.config.oauth2_token)
        else:
            client.login(self.config.username, self.config.password or "")
        return client

    def poll_once(self, client: IMAPClient) -> int:
        """Store every message after the cursor, and any the server announces meanwhile; returns how many
        were handed to store."""
        handled = self._pass(client)
        while _announced_new_mail(client) and not self.stopping.is_set():
            handled += self._pass(client)
        return handled

    def _pass(self, client: IMAPClient) -> int:
        selected = client.select_folder(self.config.folder)
        _announced_new_mail(client)  # the SELECT's own EXISTS: the SEARCH below sees those messages
        uidvalidity = int(selected[b"UIDVALIDITY"])
        cursor = self.load_cursor(self.config.key)
        last = cursor[1] if cursor and cursor[0] == uidvalidity else 0
        if cursor and cursor[0] != uidvalidity:
            log.warning("mailbox %s changed UIDVALIDITY; reading it again (duplicates are recognised)",
                        self.config.key)
        uids = sorted(uid for uid in client.search(["UID", f"{last + 1}:*"]) if uid > last)
        for uid in uids:
            if self.stopping.is_set():
                break
            fetched = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {})
            raw = fetched.get(b"BODY[]")
            if raw is None:  # expunged meanwhile
                continue
            self.store.submit(parse(bytes(raw))).result()
            if self.config.processed_folder:
                client.move([uid], self.config.processed_folder)
            else:
                client.add_flags([uid], [b"\\Seen"])
            self.save_cursor(self.config.key, uidvalidity, uid)
        return len(uids)

    def __str__(self) -> str:
        return f"IMAP poller of {self.config.key}"

    def start(self) -> None:
        threading.Thread(target=self.run, name=f"imap {self.config.key}", daemon=True).start()

    def run(self) -> None:
        """Poll until stopped: IDLE where the server offers it, else every poll_seconds.

        A failed connection or pass is retried after first_backoff_seconds, doubling up to
        max_backoff_seconds; a pass that completes starts the backoff again from the beginning, so a
        server that was briefly down (restarted, or not yet up when the poller started) is read again
        within about a second of its return. A failure on our side (the database refusing to store,
        or down) is retried the same way: the message is still unread on the server, the cursor has
        not moved past it, and a poller thread that ended instead would leave the mailbox unread
        until someone restarted the bot.
        """
        backoff = self.first_backoff_seconds
        while not self.stopping.is_set():
            try:
                client = self.connect()
                log.info("mailbox %s: connected", self.config.key)
                try:
                    while not self.stopping.is_set():
                        self.poll_once(client)
                        backoff = self.first_backoff_seconds
                        self.wait_for_mail(client)
                finally:
                    self.listening.clear()
                    try:
                        client.logout()
                    except (IMAPClientError, OSError):
                        pass
            except (IMAPClientError, OSError) as error:
                log.warning("mailbox %s: %s; reconnecting in %.1fs", self.config.key, type(error).__name__, backoff)
            except Exception as error:  # noqa: BLE001 - storing failed; the name only: its text may quote the letter
                log.error("mailbox %s: storing a message failed (%s); it stays on the server, read again in %.1fs",
                          self.config.key, type(error).__name__, backoff)
            else:
                continue
            self.stopping.wait(backoff)
            backoff = min(backoff * 2, self.max_backoff_seconds)

    def wait_for_mail(self, client: IMAPClient) -> None:
        """Return when the server says anything, the connection closes, idle_seconds pass or the poller is
        stopped (without IDLE: after poll_seconds, or when stopped)."""
        if not client.has_capability("IDLE"):
            self.listening.set()
            try:
                self.stopping.wait(self.poll_seconds)
            finally:
                self.listening.clear()
            return
        client.idle()
        try:
            # Dovecot sends "+ idling" and the EXISTS for mail that came since the last command in one
            # packet; reading the first line buffered the rest, where IMAPClient.idle_check (which
            # waits on the socket) would never look.
            if _buffered(client):
                return
            self.listening.set()
            deadline = time.monotonic() + self.idle_seconds
            while not self.stopping.is_set() and time.monotonic() < deadline:
                if _readable(client, 1.0):
                    # A response, or the server closed the connection without a BYE: idle_check then
                    # returns nothing (it swallows the EOF), and idle_done below raises, so we reconnect.
                    client.idle_check(timeout=0)
                    break
        finally:
            self.listening.clear()
            client.idle_done()

    def stop(self) -> None:
        self.stopping.set()


def _announced_new_mail(client: IMAPClient) -> bool:
    """Whether the server announced new mail (an untagged EXISTS) since this was last asked; forgets it.

    IMAPClient keeps the untagged responses that come with other commands in its imaplib
    connection and offers no public way to read them.
    """
    responses = client._imap.untagged_responses
    responses.pop("RECENT", None)
    return responses.pop("EXISTS", None) is not None


def _buffered(client: IMAPClient) -> bool:
    """Whether a response has already been read off the socket into the connection's buffer."""
    sock = client.socket()
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return bool(client._imap.file.peek(1))  # reads the socket only if the buffer is empty, without waiting
    except OSError:  # nothing yet (on TLS, SSLWantReadError)
        return False
    finally:
        sock.settimeout(timeout)


def _readable(client: IMAPClient, timeout: float) -> bool:
    poller = select.poll()
    poller.register(client.socket().fileno(), select.POLLIN)
    return bool(poller.poll(timeout * 1000))
