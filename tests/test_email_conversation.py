"""The whole email conversation through real servers: the resident's mail goes into our SMTP
server, the running service answers, and the replies arrive at a real aiosmtpd sink standing
in for the resident's mail provider. This is issue 5's "done when", as a test."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from bot.context import Context
from bot.channels import smtp_controller
from bot.service import Service
from bot.settings import Settings
from classifier.model import TriageModel
from tests.mail_sink import Mailbox, sink as mail_sink
from tests.servers import free_port
from workflow import cases
from workflow.vocabulary import ComplaintStatus


@pytest.fixture
def running(database_url: str, tmp_path: Path, trained_data_dir: Path) -> Iterator[tuple[Context, Mailbox]]:
    mailbox = Mailbox()
    sink = mail_sink(mailbox, free_port())
    sink.start()
    settings = Settings(_env_file=None, database_url=database_url, data_dir=tmp_path, smtp_port=free_port(),
                        landlord_email="housing@example.org", outbound_smtp_url=f"smtp://127.0.0.1:{sink.port}")
    context = Context(settings)
    context.migrate()
    service = Service(context, TriageModel.load(trained_data_dir / "model" / "triage.skops"), interval=0.2)
    service.start()
    inbound = smtp_controller(context)
    inbound.start()
    yield context, mailbox
    inbound.stop()
    service.stop()
    sink.stop()
    context.engine.dispose()


def send(context: Context, body: str, answering: EmailMessage | None = None, message_id: str = "<r1@example.net>"
         ) -> None:
    message = EmailMessage()
    message["From"] = "Ann Jones <ann@example.net>"
    message["To"] = "housing@example.org"
    message["Subject"] = f"Re: {answering['Subject']}" if answering else "Repair still not done"
    message["Message-ID"] = message_id
    if answering is not None:
        message["In-Reply-To"] = answering["Message-ID"]
        message["References"] = answering["Message-ID"]
    message.set_content(body)
    with smtplib.SMTP(context.settings.smtp_host, context.settings.smtp_port, timeout=30) as client:
        client.send_message(message)


def test_a_resident_emails_that_their_repair_is_not_done_and_answers_complaint(
        running: tuple[Context, Mailbox]) -> None:
    context, mailbox = running
    send(context, "I reported a leak under my kitchen sink a month ago and my repair still has not been done. "
                  "Nobody answers the phone.")
    offer = mailbox.next()
    assert offer["To"] == "ann@example.net" and offer["In-Reply-To"] == "<r1@example.net>"
    assert "COMPLAINT or REQUEST" in offer.get_body(("plain",)).get_content()

    send(context, "complaint", answering=offer, message_id="<r2@example.net>")
    acknowledgement = mailbox.next()
    body = acknowledgement.get_body(("plain",)).get_content()
    assert "is logged" in body and "at the latest" in body
    reference = str(acknowledgement["Subject"]).rsplit("[", 1)[1].rstrip("]")
    with context.sessions() as session:
        case = cases.by_reference(session, reference)
        assert case is not None and case.status == ComplaintStatus.STAGE1_LOGGED
    assert mailbox.received.empty()
