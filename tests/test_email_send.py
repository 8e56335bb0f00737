"""Outbound mail: threading headers, RFC 3834 marking, delivery to a real aiosmtpd sink or to .eml files."""

from __future__ import annotations

import datetime as dt
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from intake.email.parse import parse
from intake.email.send import OutboundEmail, Sender, build, remove_dropped
from tests.servers import free_port

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
REPLY = OutboundEmail(key="outbox-42", to="jo@example.net", subject="Re: My repair", reference="CMP-2026-00042",
                      text="We have received your message.\n\nYour reference is CMP-2026-00042.",
                      in_reply_to="<abc@example.net>", references=["<first@example.net>", "<abc@example.net>"])


class Sink:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.received.append((list(envelope.rcpt_tos), envelope.original_content))  # type: ignore[attr-defined]
        return "250 OK"


def test_built_message_threads_and_is_marked_automatic() -> None:
    message = build(REPLY, "housing@example.org", "Example Housing", NOW)
    assert message["Message-ID"] == "<outbox-42@example.org>"
    assert message["In-Reply-To"] == "<abc@example.net>"
    assert message["References"] == "<first@example.net> <abc@example.net>"
    assert message["Subject"] == "Re: My repair [CMP-2026-00042]"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message.get_body(("plain",)).get_content().startswith("We have received")
    assert "<p>We have received your message.</p>" in message.get_body(("html",)).get_content()
    person = build(OutboundEmail(key="k", to="a@b.c", subject="Reply [CMP-2026-00042]", text="<b>hi</b>",
                                 reference="CMP-2026-00042", automatic=False), "housing@example.org", "H", NOW)
    assert person["Auto-Submitted"] is None and person["Subject"] == "Reply [CMP-2026-00042]"
    assert "&lt;b&gt;hi&lt;/b&gt;" in person.get_body(("html",)).get_content()


def test_our_own_reply_is_recognised_as_automatic_if_it_comes_back() -> None:
    raw = build(REPLY, "housing@example.org", "Example Housing", NOW).as_bytes()
    assert parse(raw).automatic


def test_delivery_to_a_real_smtp_server() -> None:
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        Sender(f"smtp://127.0.0.1:{port}", Path("/nonexistent")).send(build(REPLY, "housing@example.org", "H", NOW))
    finally:
        controller.stop()
    [(to, raw)] = sink.received
    delivered = BytesParser(policy=policy.default).parsebytes(raw)
    assert to == ["jo@example.net"] and delivered["Message-ID"] == "<outbox-42@example.org>"


def test_a_refused_connection_raises_so_the_outbox_retries() -> None:
    with pytest.raises(OSError):
        Sender(f"smtp://127.0.0.1:{free_port()}", Path("/nonexistent"), timeout=5).send(
            build(REPLY, "housing@example.org", "H", NOW))


def test_without_a_server_mail_is_written_as_eml_files_named_by_time_and_case(tmp_path: Path) -> None:
    Sender(None, tmp_path / "outbox").send(build(REPLY, "housing@example.org", "H", NOW), reference=REPLY.reference)
    [written] = list((tmp_path / "outbox").iterdir())
    assert written.name == "20261123-100000_CMP-2026-00042_outbox-42.eml"
    assert parse(written.read_bytes()).external_id == "<outbox-42@example.org>"


def test_a_listing_of_the_folder_reads_in_the_order_the_letters_were_written(tmp_path: Path) -> None:
    """An IT officer listing the folder saw `out-<hex>_example.org.eml` names: no time, no case."""
    folder = tmp_path / "outgoing"
    letters = [(OutboundEmail(key=f"out-{n}", to="jo@example.net", subject="Your message", text="Received.",
                              reference=reference), NOW + dt.timedelta(minutes=minutes))
               for n, (reference, minutes) in enumerate([("SR-2026-00003", 90), ("CMP-2026-00007", 5), (None, 30)])]
    for mail, at in letters:
        Sender(None, folder).send(build(mail, "housing@example.org", "H", at), reference=mail.reference)
    assert sorted(path.name for path in folder.iterdir()) == [
        "20261123-100500_CMP-2026-00007_out-1.eml", "20261123-103000_no-case_out-2.eml",
        "20261123-113000_SR-2026-00003_out-0.eml"]


def test_a_letter_sent_again_after_a_crash_is_not_written_twice(tmp_path: Path) -> None:
    """The worker can die between writing the file and recording it as sent; the outbox then sends
    it again, later, under the same key. The time in the name must not make that a second copy."""
    folder = tmp_path / "outgoing"
    Sender(None, folder).send(build(REPLY, "housing@example.org", "H", NOW), reference=REPLY.reference)
    later = NOW + dt.timedelta(minutes=5)
    Sender(None, folder).send(build(REPLY, "housing@example.org", "H", later), reference=REPLY.reference)
    assert [path.name for path in folder.iterdir()] == ["20261123-100000_CMP-2026-00042_outbox-42.eml"]


def test_a_reference_cannot_reach_outside_the_folder_or_break_the_name(tmp_path: Path) -> None:
    folder = tmp_path / "outgoing"
    Sender(None, folder).send(build(REPLY, "housing@example.org", "H", NOW), reference="../../etc/pass_wd x")
    [written] = list(folder.iterdir())
    assert written.name == "20261123-100000_..-..-etc-pass-wd-x_outbox-42.eml"
    assert remove_dropped(folder, ["outbox-42"]) == 1 and not list(folder.iterdir())


def test_purge_removes_a_message_s_copies_under_the_new_name_and_the_old(tmp_path: Path) -> None:
    """Copies written before the names began with the time are called `<key>_<domain>.eml`."""
    folder = tmp_path / "outgoing"
    Sender(None, folder).send(build(REPLY, "housing@example.org", "H", NOW), reference=REPLY.reference)
    (folder / "outbox-7_example.org.eml").write_bytes(b"an older copy")
    (folder / "outbox-420_example.org.eml").write_bytes(b"someone else's")
    Sender(None, folder).send(build(OutboundEmail(key="x_outbox-42", to="a@b.c", subject="s", text="t"),
                                    "housing@example.org", "H", NOW), reference="ENQ-2026-00001")
    assert remove_dropped(folder, ["outbox-42", "outbox-7"]) == 2
    assert sorted(path.name for path in folder.iterdir()) == [
        "20261123-100000_ENQ-2026-00001_x_outbox-42.eml", "outbox-420_example.org.eml"]


def test_only_smtp_urls_are_accepted() -> None:
    with pytest.raises(ValueError, match="smtp://"):
        Sender("http://mail.example.org", Path("/tmp"))


def _login(server: object, session: object, envelope: object, mechanism: str, auth_data: object) -> object:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"relay", b"p@ss word")
    return AuthResult(success=ok)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # smtps is TLS throughout
@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
def test_delivery_over_tls_with_login_as_a_council_relay_requires(scheme: str, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """STARTTLS on smtp://, TLS from the first byte on smtps://; the password never crosses in clear."""
    import smtplib
    import ssl

    from tests.servers import self_signed_certificate

    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # OpenSSL's own way to trust a private CA
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    sink, port = Sink(), free_port()
    # aiosmtpd's auth_require_tls only recognises STARTTLS; on smtps:// every byte is encrypted anyway.
    tls_options: dict[str, object] = {"ssl_context": server_tls, "auth_require_tls": False} if scheme == "smtps" \
        else {"tls_context": server_tls, "require_starttls": True, "auth_require_tls": True}
    controller = Controller(sink, hostname="127.0.0.1", port=port, authenticator=_login, auth_required=True,
                            **tls_options)
    controller.start()
    try:
        Sender(f"{scheme}://relay:p%40ss%20word@127.0.0.1:{port}", tmp_path).send(
            build(REPLY, "housing@example.org", "H", NOW))
        with pytest.raises(smtplib.SMTPException):
            Sender(f"{scheme}://relay:wrong@127.0.0.1:{port}", tmp_path, timeout=5).send(
                build(REPLY, "housing@example.org", "H", NOW))
    finally:
        controller.stop()
    assert len(sink.received) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # the relay under test is careless
def test_a_password_is_never_sent_to_a_relay_without_tls_unless_allowed(tmp_path: Path) -> None:
    from intake.email.send import PlainAuthRefused

    attempts: list[str] = []

    def login(server: object, session: object, envelope: object, mechanism: str, auth_data: object) -> object:
        from aiosmtpd.smtp import AuthResult

        attempts.append(mechanism)
        return AuthResult(success=True)

    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, authenticator=login, auth_required=True,
                            auth_require_tls=False)
    controller.start()
    try:
        with pytest.raises(PlainAuthRefused, match="offers no STARTTLS"):
            Sender(f"smtp://relay:secret@127.0.0.1:{port}", tmp_path).send(build(REPLY, "housing@example.org", "H", NOW))
        assert attempts == [] and sink.received == []  # the password never left
        Sender(f"smtp://relay:secret@127.0.0.1:{port}", tmp_path, allow_plain_auth=True).send(
            build(REPLY, "housing@example.org", "H", NOW))
    finally:
        controller.stop()
    assert len(attempts) == 1 and len(sink.received) == 1
