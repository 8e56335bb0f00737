"""Reading mailboxes over IMAP: exactly once, in order, and never stuck on one bad message.

A message is fetched without marking it read, handed to `store` (which commits it), and only
then moved to the processed folder or flagged \\Seen; the cursor (UIDVALIDITY and last UID)
moves last. A crash between any two steps means the message is fetched again, and storage
recognises it by its Message-ID. Parsing never raises, so an unreadable message is stored raw
like any other.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from intake.email.parse import parse
from intake.message import InboundMessage

log = logging.getLogger(__name__)

Store = Callable[[InboundMessage], None]  # commits the message, raises on failure
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
                 poll_seconds: float = 60.0, idle_seconds: float = 300.0, timeout: float = 60.0) -> None:
        self.config = config
        self.store, self.load_cursor, self.save_cursor = store, load_cursor, save_cursor
        self.poll_seconds, self.idle_seconds, self.timeout = poll_seconds, idle_seconds, timeout
        self.stopping = threading.Event()

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
        """Store every message after the cursor; returns how many were handed to store."""
        selected = client.select_folder(self.config.folder)
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
            self.store(parse(bytes(raw)))
            if self.config.processed_folder:
                client.move([uid], self.config.processed_folder)
            else:
                client.add_flags([uid], [b"\\Seen"])
            self.save_cursor(self.config.key, uidvalidity, uid)
        return len(uids)

    def run(self) -> None:
        """Poll until stopped: IDLE where the server offers it, else every poll_seconds; reconnect with backoff."""
        backoff = 1.0
        while not self.stopping.is_set():
            try:
                client = self.connect()
                try:
                    backoff = 1.0
                    while not self.stopping.is_set():
                        self.poll_once(client)
                        self._wait(client)
                finally:
                    try:
                        client.logout()
                    except (IMAPClientError, OSError):
                        pass
            except (IMAPClientError, OSError) as error:
                log.warning("mailbox %s: %s; reconnecting in %.0fs", self.config.key, type(error).__name__, backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 300.0)

    def _wait(self, client: IMAPClient) -> None:
        if not client.has_capability("IDLE"):
            self.stopping.wait(self.poll_seconds)
            return
        client.idle()
        try:
            deadline = time.monotonic() + self.idle_seconds
            while not self.stopping.is_set() and time.monotonic() < deadline:
                if client.idle_check(timeout=1):
                    break
        finally:
            client.idle_done()

    def stop(self) -> None:
        self.stopping.set()
