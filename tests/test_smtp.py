"""The inbound SMTP server under test with a real client: relaying, size, storage failures, duplicates."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.context import Context
from bot.channels import smtp_controller
from bot.inbound import complete_stored
from bot.settings import Settings
from tests.servers import free_port
from workflow.inbox import REUSED_ID, attachment_bytes
from workflow.models import AuditEvent, Message


def settings_for(database_url: str, data_dir: Path, **extra: object) -> Settings:
    return Settings(_env_file=None, database_url=database_url, data_dir=data_dir, smtp_port=free_port(),
                    landlord_email="housing@example.org", **extra)


@pytest.fixture
def running(database_url: str, tmp_path: Path) -> Iterator[Context]:
    context = Context(settings_for(database_url, tmp_path))
    controller = smtp_controller(context)
    controller.start()
    yield context
    controller.stop()
    context.engine.dispose()


def letter(message_id: str = "<m1@example.net>", body: str = "My heating has been off for a week.",
           attachment: bytes | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Jo Bloggs <jo@example.net>"
    message["To"] = "housing@example.org"
    message["Subject"] = "Heating"
    message["Message-ID"] = message_id
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(attachment, maintype="image", subtype="jpeg", filename="../../boiler.jpg")
    return message


def send(context: Context, message: EmailMessage, to: list[str] | None = None) -> None:
    with smtplib.SMTP(context.settings.smtp_host, context.settings.smtp_port, timeout=30) as client:
        client.send_message(message, to_addrs=to)


def stored(context: Context) -> list[Message]:
    with context.sessions() as session:
        return list(session.scalars(select(Message).order_by(Message.id)))


def test_the_raw_mail_is_stored_before_250_and_read_in_full_afterwards(running: Context) -> None:
    photo = b"\xff\xd8\xff" + b"jpeg" * 1000
    send(running, letter(attachment=photo))
    [message] = stored(running)  # what the 250 promised: the bytes, under the message's identity
    assert message.external_id == "<m1@example.net>" and not message.parsed
    with running.sessions() as session:
        assert b"My heating has been off for a week." in session.get_one(Message, message.id).raw
    assert complete_stored(running) == 1  # what the bot does before it handles the message
    [message] = stored(running)
    assert (message.sender, message.subject, message.parsed) == ("jo@example.net", "Heating", True)
    attachments = running.settings.data_dir / "attachments"
    with running.sessions() as session:
        attachment = session.get_one(Message, message.id).attachments[0]
        assert attachment.filename == "boiler.jpg" and attachment.size == len(photo)
        assert attachment_bytes(attachment, attachments) == photo
        assert session.scalars(select(AuditEvent.action)).all() == ["message_received"]
    assert not list(attachments.rglob("*")), "the photo is read from the letter, not stored a second time"


def test_the_same_message_twice_is_stored_once(running: Context) -> None:
    send(running, letter())
    send(running, letter())
    relayed = letter()
    relayed["Received"] = "from relay.example.net by mx.example.org; Tue, 1 Dec 2026 10:00:00 +0000"
    send(running, relayed)  # the same letter by another route: only the trace headers differ
    assert len(stored(running)) == 1


def test_a_different_letter_under_a_message_id_already_seen_is_stored_and_flagged(running: Context) -> None:
    """Real mailers reuse Message-IDs; counting the second letter a duplicate lost it without a word."""
    send(running, letter())
    send(running, letter(body="Now there is water coming through the kitchen ceiling."))
    assert complete_stored(running) == 2
    first, second = stored(running)
    assert first.external_id == second.external_id == "<m1@example.net>"
    assert "water coming through" in second.body_text
    assert REUSED_ID not in first.defects and REUSED_ID in second.defects
    send(running, letter(body="Now there is water coming through the kitchen ceiling."))
    assert len(stored(running)) == 2, "a repeat of the second letter is still a duplicate"


def test_relaying_is_refused(running: Context) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(running, letter(), to=["someone@elsewhere.example.com"])
    assert refused.value.recipients["someone@elsewhere.example.com"][0] == 550
    assert stored(running) == []


def test_an_accepted_and_a_foreign_recipient_together(running: Context) -> None:
    send(running, letter(), to=["housing@example.org", "victim@elsewhere.example.com"])
    [message] = stored(running)
    assert message.external_id == "<m1@example.net>"


def test_oversize_mail_is_refused_with_552(database_url: str, tmp_path: Path) -> None:
    context = Context(settings_for(database_url, tmp_path, smtp_max_bytes=20_000))
    controller = smtp_controller(context)
    controller.start()
    try:
        with pytest.raises(smtplib.SMTPException) as refused:
            send(context, letter(body="x" * 50_000))
        assert getattr(refused.value, "smtp_code", None) == 552
        assert stored(context) == []
    finally:
        controller.stop()
        context.engine.dispose()


def test_a_storage_failure_answers_451_and_the_retry_is_stored(tmp_path: Path, sqlite_template: Path) -> None:
    import shutil

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database folder should be")
    broken = Context(settings_for(f"sqlite:///{blocker}/triage.sqlite3", tmp_path))
    controller = smtp_controller(broken)
    controller.start()
    try:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            send(broken, letter())
        assert failed.value.smtp_code == 451
    finally:
        controller.stop()
    good_file = tmp_path / "good.sqlite3"
    shutil.copyfile(sqlite_template, good_file)
    working = Context(settings_for(f"sqlite:///{good_file}", tmp_path))
    controller = smtp_controller(working)
    controller.start()
    try:
        send(working, letter())  # the sending server retries the same message
        assert [m.external_id for m in stored(working)] == ["<m1@example.net>"]
    finally:
        controller.stop()


def test_automatic_replies_are_stored_and_marked(running: Context) -> None:
    reply = letter("<ooo@example.net>", "I am away until Monday.")
    reply["Auto-Submitted"] = "auto-replied"
    send(running, reply)
    complete_stored(running)
    [message] = stored(running)
    assert message.automatic is True


def test_starttls_is_offered_with_a_certificate_and_mail_sent_over_it_is_stored(database_url: str,
                                                                                tmp_path: Path) -> None:
    import ssl

    from tests.servers import self_signed_certificate

    cert, key = self_signed_certificate(tmp_path)
    context = Context(settings_for(database_url, tmp_path, smtp_tls_cert=str(cert), smtp_tls_key=str(key)))
    controller = smtp_controller(context)
    controller.start()
    try:
        tls = ssl.create_default_context(cafile=str(cert))
        with smtplib.SMTP(context.settings.smtp_host, context.settings.smtp_port, timeout=30) as client:
            client.ehlo()
            assert client.has_extn("starttls")
            client.starttls(context=tls)
            client.ehlo()
            client.send_message(letter("<tls-1@example.net>"))
        assert [m.external_id for m in stored(context)] == ["<tls-1@example.net>"]
    finally:
        controller.stop()
        context.engine.dispose()


def test_connections_over_the_limits_get_421_and_one_closed_makes_room(database_url: str, tmp_path: Path) -> None:
    """3,000 connections at once from one client were accepted and held."""
    context = Context(settings_for(database_url, tmp_path, smtp_max_connections_per_client=2))
    controller = smtp_controller(context)
    controller.start()
    try:
        first = smtplib.SMTP(context.settings.smtp_host, context.settings.smtp_port, timeout=30)
        second = smtplib.SMTP(context.settings.smtp_host, context.settings.smtp_port, timeout=30)
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP(context.settings.smtp_host, context.settings.smtp_port, timeout=30)
        assert refused.value.smtp_code == 421
        first.quit()
        deadline = time.monotonic() + 10
        while True:  # the server counts the closed connection once it has seen it go
            try:
                third = smtplib.SMTP(context.settings.smtp_host, context.settings.smtp_port, timeout=30)
                break
            except smtplib.SMTPConnectError:
                assert time.monotonic() < deadline, "a closed connection never made room"
                time.sleep(0.05)
        third.send_message(letter())
        third.quit()
        second.quit()
        assert len(stored(context)) == 1
    finally:
        controller.stop()
        context.engine.dispose()


def test_past_100_recipients_in_one_transaction_the_rest_get_452_and_the_mail_is_stored(running: Context) -> None:
    """5,000 recipients in one transaction were accepted."""
    recipients = [f"housing{n}@example.org" for n in range(101)]
    with smtplib.SMTP(running.settings.smtp_host, running.settings.smtp_port, timeout=30) as client:
        refused = client.sendmail("jo@example.net", recipients, letter().as_bytes())
    assert list(refused) == ["housing100@example.org"] and refused["housing100@example.org"][0] == 452
    assert len(stored(running)) == 1


def test_large_letters_are_spooled_stored_whole_and_their_attachments_read_from_them(running: Context) -> None:
    """Each letter was held as a list of lines, joined, then stored beside its decoded attachments:
    six 24.5 MB letters took the process to 1,097 MB. Now a large letter goes to a spool file as it
    arrives, one at a time is read back (a turn shared with the worker parsing one), and each
    attachment is read from its letter."""
    import os
    import threading

    photos = [os.urandom(3 * 1024 * 1024) for _ in range(4)]  # each letter over SPOOL_IN_MEMORY
    answers: list[str] = []

    def one(n: int) -> None:
        mail = letter(f"<big{n}@example.net>", body=f"Letter {n}.\n.a line that starts with a dot\n..two\n",
                      attachment=photos[n])
        send(running, mail)
        answers.append(mail["Message-ID"])

    threads = [threading.Thread(target=one, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [f"<big{n}@example.net>" for n in range(4)]
    assert complete_stored(running) == 4
    attachments = running.settings.data_dir / "attachments"
    with running.sessions() as session:
        for message in session.scalars(select(Message).order_by(Message.id)):
            n = int(message.external_id.removeprefix("<big").split("@")[0])
            assert message.new_text.splitlines()[1:] == [".a line that starts with a dot", "..two"]
            [attachment] = message.attachments
            assert attachment.part is not None and attachment_bytes(attachment, attachments) == photos[n]
    assert not list(attachments.rglob("*")), "no attachment is stored a second time beside its letter"
    assert not [p for p in (running.settings.data_dir / "spool").iterdir()], "spool files go once stored"


def test_a_line_too_long_is_refused_with_500_and_the_next_letter_on_the_connection_is_stored(
        running: Context) -> None:
    long_line = (b"From: jo@example.net\r\nTo: housing@example.org\r\nMessage-ID: <long@example.net>\r\n\r\n"
                 + b"x" * 5000 + b"\r\n.\r\n" + b"after the long line\r\n")
    with smtplib.SMTP(running.settings.smtp_host, running.settings.smtp_port, timeout=30) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("jo@example.net", ["housing@example.org"], long_line)
        assert refused.value.smtp_code == 500
        client.sendmail("jo@example.net", ["housing@example.org"], letter().as_bytes(policy=SMTP_POLICY))
    assert [m.external_id for m in stored(running)] == ["<m1@example.net>"]


def test_as_the_first_hop_it_checks_the_sender_and_writes_its_findings_above_the_letter(
        database_url: str, tmp_path: Path) -> None:
    """A forged From was believed when no gateway stood in front: now the product's own SMTP server
    looks up the sender domain's SPF and DMARC records (a real DNS server on loopback here) and a
    letter from a domain that says reject, sent from an address it does not list, is read as forged."""
    from intake.email import authentication
    from tests.dns_standin import DnsStandIn

    zone = {"example.net": ["v=spf1 ip4:192.0.2.10 -all"], "_dmarc.example.net": ["v=DMARC1; p=reject"]}
    with DnsStandIn(txt=zone) as nameserver:
        settings = settings_for(database_url, tmp_path, smtp_first_hop=True, smtp_authserv_id="mx.council.example",
                                dns_servers=[nameserver])
        context = Context(settings)
        controller = smtp_controller(context)
        controller.start()
        try:
            send(context, letter())  # from 127.0.0.1, which example.net does not list
        finally:
            controller.stop()
    with context.sessions() as session:
        raw = session.scalars(select(Message.raw)).one()
    context.engine.dispose()
    assert raw.startswith(b"Authentication-Results: mx.council.example; spf=fail")
    verdict = authentication.verdict(raw, settings.believed_authserv_ids)
    assert verdict.forged and verdict.results["dmarc"] == "fail"
    assert not authentication.verdict(raw, Settings(_env_file=None).believed_authserv_ids).forged, \
        "behind a gateway (the default) the product's own header is not read"
