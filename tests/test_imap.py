"""The IMAP poller against a real Dovecot server: exactly once, across restarts and crashes, and with IDLE."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import select

from bot.context import Context
from bot.channels import mailbox_poller
from bot.settings import Settings
from intake.email.imap import MailboxConfig, MailboxPoller
from tests.servers import dovecot_server
from tests.stores import Intercepted
from workflow.inbox import load_cursor, save_cursor
from workflow.models import Message

USER, PASSWORD = "housing@example.org", "secret-test-password"


@pytest.fixture
def imap_port() -> Iterator[int]:
    with dovecot_server(USER, PASSWORD) as port:
        yield port


@pytest.fixture
def context(database_url: str, tmp_path: Path) -> Iterator[Context]:
    context = Context(Settings(_env_file=None, database_url=database_url, data_dir=tmp_path))
    yield context
    context.engine.dispose()


def client(port: int) -> IMAPClient:
    imap = IMAPClient("127.0.0.1", port=port, ssl=False, timeout=30)
    imap.login(USER, PASSWORD)
    return imap


def letter(n: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"resident{n}@example.net"
    message["To"] = USER
    message["Subject"] = f"Message {n}"
    message["Message-ID"] = f"<imap-{n}@example.net>"
    message.set_content(f"Body {n}")
    return message.as_bytes()


def append(port: int, *raws: bytes, folder: str = "INBOX") -> None:
    with client(port) as imap:
        for raw in raws:
            imap.append(folder, raw)


def poller(context: Context, port: int, processed: str | None = None) -> MailboxPoller:
    config = MailboxConfig(host="127.0.0.1", port=port, username=USER, password=PASSWORD, tls=False,
                           processed_folder=processed)
    return mailbox_poller(context, config, poll_seconds=0.2)


def stored_ids(context: Context) -> list[str]:
    with context.sessions() as session:
        return list(session.scalars(select(Message.external_id).order_by(Message.id)))


def test_each_message_is_stored_once_across_restarts(context: Context, imap_port: int) -> None:
    garbage = b"\x00\xff this is not\r\nan email at all \x80\x81"
    append(imap_port, letter(1), garbage, letter(2))
    first = poller(context, imap_port)
    with first.connect() as imap:
        assert first.poll_once(imap) == 3
        assert first.poll_once(imap) == 0
    ids = stored_ids(context)
    assert ids[0] == "<imap-1@example.net>" and ids[2] == "<imap-2@example.net>"
    assert ids[1].endswith("@no-message-id.invalid>"), "the unparseable message is stored raw and blocks nothing"
    with client(imap_port) as imap:
        imap.select_folder("INBOX")
        assert all(b"\\Seen" in flags for flags in imap.get_flags(imap.search()).values())
    append(imap_port, letter(3))
    restarted = poller(context, imap_port)
    with restarted.connect() as imap:
        assert restarted.poll_once(imap) == 1
    assert len(stored_ids(context)) == 4


def test_processed_mail_is_moved(context: Context, imap_port: int) -> None:
    with client(imap_port) as imap:
        imap.create_folder("Processed")
    append(imap_port, letter(1), letter(2))
    mover = poller(context, imap_port, processed="Processed")
    with mover.connect() as imap:
        assert mover.poll_once(imap) == 2
    with client(imap_port) as imap:
        assert imap.select_folder("INBOX")[b"EXISTS"] == 0
        assert imap.select_folder("Processed")[b"EXISTS"] == 2
    assert len(stored_ids(context)) == 2


def test_a_crash_between_storing_and_moving_loses_and_doubles_nothing(context: Context, imap_port: int) -> None:
    append(imap_port, letter(1), letter(2))
    broken = poller(context, imap_port, processed="No such folder")
    with broken.connect() as imap, pytest.raises(IMAPClientError):
        broken.poll_once(imap)
    assert stored_ids(context) == ["<imap-1@example.net>"], "stored before the move failed"
    with client(imap_port) as imap:
        imap.create_folder("Processed")
    fixed = poller(context, imap_port, processed="Processed")
    with fixed.connect() as imap:
        assert fixed.poll_once(imap) == 2  # message 1 is fetched again and recognised
    assert stored_ids(context) == ["<imap-1@example.net>", "<imap-2@example.net>"]


def test_a_changed_uidvalidity_rereads_without_duplicates(context: Context, imap_port: int) -> None:
    append(imap_port, letter(1))
    reader = poller(context, imap_port)
    with reader.connect() as imap:
        reader.poll_once(imap)
    with context.sessions() as session:
        validity, last = load_cursor(session, reader.config.key)
        import datetime as dt

        save_cursor(session, reader.config.key, validity + 1, last, dt.datetime.now(dt.UTC))
    with reader.connect() as imap:
        assert reader.poll_once(imap) == 1
    assert stored_ids(context) == ["<imap-1@example.net>"]


def test_idle_picks_up_new_mail_while_running(context: Context, imap_port: int) -> None:
    running = poller(context, imap_port)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    try:
        assert running.listening.wait(30), "the poller never reached IDLE"
        append(imap_port, letter(7))
        deadline = time.monotonic() + 15
        while stored_ids(context) != ["<imap-7@example.net>"]:
            assert time.monotonic() < deadline, "the running poller did not store the new message"
            time.sleep(0.1)
    finally:
        running.stop()
        thread.join(timeout=15)
    assert not thread.is_alive()


def test_a_message_the_database_refuses_is_read_again_and_the_poller_keeps_running(context: Context,
                                                                                     imap_port: int) -> None:
    """The poller thread used to end on any error that was not IMAP's or the network's: one failed
    commit and the mailbox was never read again until the bot was restarted."""
    append(imap_port, letter(1))
    running = poller(context, imap_port)
    running.store = refusing = Intercepted(running.store, refuse=1)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while stored_ids(context) != ["<imap-1@example.net>"]:
            assert time.monotonic() < deadline, "the refused message was not read again"
            assert thread.is_alive(), "the poller stopped after a failed store"
            time.sleep(0.1)
        assert refusing.refuse == 0
        assert running.listening.wait(30), "the poller did not go back to listening"
        append(imap_port, letter(2))
        while stored_ids(context) != ["<imap-1@example.net>", "<imap-2@example.net>"]:
            assert time.monotonic() < deadline + 15, "later mail was not read"
            time.sleep(0.1)
    finally:
        running.stop()
        thread.join(timeout=15)
    assert not thread.is_alive()


@contextmanager
def stopped_after(reader: MailboxPoller, seconds: float = 30) -> Iterator[None]:
    """Stops the poller if the block takes longer than seconds, so a wait that never ends fails the test."""
    timer = threading.Timer(seconds, reader.stop)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
    assert not reader.stopping.is_set(), f"still waiting after {seconds} s"


def test_mail_announced_while_a_pass_reads_is_read_in_the_same_pass(context: Context, imap_port: int) -> None:
    """Dovecot announces mail that arrives during a pass (an EXISTS after a FETCH or STORE) once, and
    IDLE does not announce it again: a poller that went to IDLE then left it unread."""
    append(imap_port, letter(1))
    arriving = [letter(2), letter(3)]
    reader = poller(context, imap_port)

    def mail_arrives() -> None:
        if arriving:
            append(imap_port, *arriving)
            arriving.clear()

    reader.store = Intercepted(reader.store, after=mail_arrives)
    with reader.connect() as imap:
        assert reader.poll_once(imap) == 3
    assert stored_ids(context) == [f"<imap-{n}@example.net>" for n in (1, 2, 3)]


def test_mail_that_arrives_just_before_idle_ends_the_idle(context: Context, imap_port: int) -> None:
    """Dovecot reports it right after "+ idling", often in the same packet: reading the continuation line
    buffered the EXISTS too, and IMAPClient.idle_check, which waits on the socket, never saw it."""
    reader = poller(context, imap_port)
    with reader.connect() as imap:
        assert reader.poll_once(imap) == 0
        append(imap_port, letter(1))  # after the pass's last command, before IDLE
        with stopped_after(reader):
            reader.wait_for_mail(imap)
        assert reader.poll_once(imap) == 1


def test_a_connection_closed_during_idle_ends_the_idle_with_an_error(context: Context, imap_port: int) -> None:
    """No BYE (a dropped connection, a killed server): the socket reads as closed, IMAPClient.idle_check
    then returns nothing at once, every time; the poller must not spin there until idle_seconds."""
    import socket

    reader = poller(context, imap_port)
    with reader.connect() as imap:
        assert reader.poll_once(imap) == 0
        closing = threading.Thread(target=lambda: (reader.listening.wait(30),
                                                   imap.socket().shutdown(socket.SHUT_RDWR)))
        closing.start()
        with stopped_after(reader), pytest.raises((IMAPClientError, OSError)):
            reader.wait_for_mail(imap)
        closing.join()


def test_mailbox_urls() -> None:
    config = MailboxConfig.from_url("imaps://housing%40example.org@mail.example.org:9993/Shared%20Inbox",
                                    password="p")
    assert (config.host, config.port, config.username, config.folder, config.tls) == (
        "mail.example.org", 9993, "housing@example.org", "Shared Inbox", True)
    with pytest.raises(ValueError):
        MailboxConfig.from_url("https://mail.example.org")


def test_imaps_with_a_private_ca_is_read_and_an_untrusted_certificate_is_refused(context: Context,
                                                                                  tmp_path: Path) -> None:
    import ssl

    from tests.servers import self_signed_certificate

    cert, key = self_signed_certificate(tmp_path)
    with dovecot_server(USER, PASSWORD, tls=(cert, key)) as port:
        with IMAPClient("127.0.0.1", port=port, ssl=True, ssl_context=ssl.create_default_context(cafile=str(cert)),
                        timeout=30) as imap:
            imap.login(USER, PASSWORD)
            imap.append("INBOX", letter(1))
        trusted = MailboxConfig(host="127.0.0.1", port=port, username=USER, password=PASSWORD, tls=True,
                                ca_file=str(cert))
        reader = mailbox_poller(context, trusted, poll_seconds=0.2)
        with reader.connect() as imap:
            assert reader.poll_once(imap) == 1
        untrusted = mailbox_poller(context, MailboxConfig(host="127.0.0.1", port=port, username=USER,
                                                          password=PASSWORD, tls=True), poll_seconds=0.2)
        with pytest.raises(ssl.SSLCertVerificationError):
            untrusted.connect()
    assert stored_ids(context) == ["<imap-1@example.net>"]


class Introspection:
    """An OAuth2 authorisation server's token introspection endpoint (RFC 7662), as Dovecot asks it."""

    def __init__(self, good_token: str) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs

        from tests.servers import free_port

        good = good_token

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                token = parse_qs(body).get("token", [""])[0] or self.headers.get("Authorization", "").split()[-1]
                answer = b'{"active": true, "username": "%s"}' % USER.encode() if token == good else \
                    b'{"active": false}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/introspect"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_xoauth2_logs_in_with_an_active_token_and_not_with_a_revoked_one(context: Context) -> None:
    introspection = Introspection("ya29.active-token")
    try:
        with dovecot_server(USER, PASSWORD, oauth2_introspection_url=introspection.url) as port:
            append(port, letter(7))
            good = MailboxConfig(host="127.0.0.1", port=port, username=USER, oauth2_token="ya29.active-token",
                                 tls=False)
            reader = mailbox_poller(context, good, poll_seconds=0.2)
            with reader.connect() as imap:
                assert reader.poll_once(imap) == 1
            revoked = MailboxConfig(host="127.0.0.1", port=port, username=USER, oauth2_token="ya29.revoked",
                                    tls=False)
            with pytest.raises(IMAPClientError):
                mailbox_poller(context, revoked, poll_seconds=0.2).connect()
    finally:
        introspection.close()
    assert stored_ids(context) == ["<imap-7@example.net>"]
