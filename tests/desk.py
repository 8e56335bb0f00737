"""A landlord's mailbox as a resident sees it, for conversation and scheduler tests: write a
letter through the storage path SMTP uses, run the scheduler once, read the replies from the
.eml drop as a mail program would. The clock is the test's to move."""

from __future__ import annotations

import datetime as dt
import email
import itertools
from email import policy
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import func, select

from bot.context import Context
from bot.inbound import store_message
from bot.service import tick
from bot.settings import Settings
from classifier.model import TriageModel
from intake.email.parse import parse
from intake.email.send import dropped_copies
from workflow import cases
from workflow.models import Case, Message
from workflow.vocabulary import Direction

MONDAY = dt.datetime(2026, 11, 16, 9, 30, tzinfo=dt.UTC)
_ids = itertools.count(1)


class Desk:
    """A landlord's mailbox as a resident sees it: send a letter, read the replies."""

    def __init__(self, database_url: str, data_dir: Path, model: TriageModel) -> None:
        self.clock = MONDAY
        settings = Settings(_env_file=None, database_url=database_url, data_dir=data_dir,
                            landlord_email="housing@example.org")
        self.context = Context(settings, now=lambda: self.clock)
        self.context.migrate()
        self.model = model
        self.seen = 0

    def write(self, body: str, *, subject: str = "My home", sender: str = "ann.jones@example.net",
              answering: EmailMessage | None = None, headers: dict[str, str] | None = None) -> str:
        message = EmailMessage()
        message["From"] = f"Resident <{sender}>"
        message["To"] = "housing@example.org"
        message["Subject"] = f"Re: {answering['Subject']}" if answering is not None else subject
        message["Message-ID"] = f"<resident-{next(_ids)}@example.net>"
        if answering is not None:
            message["In-Reply-To"] = answering["Message-ID"]
            message["References"] = answering["Message-ID"]
            quoted = "\n".join("> " + line for line in answering.get_body(("plain",)).get_content().splitlines())
            body = f"{body}\n\nOn Monday, Example Housing <housing@example.org> wrote:\n{quoted}\n"
        for name, value in (headers or {}).items():
            message[name] = value
        message.set_content(body)
        store_message(self.context, parse(message.as_bytes()))
        return str(message["Message-ID"])

    def replies(self) -> list[EmailMessage]:
        """Run the scheduler once and return the mail it sent since the last look."""
        tick(self.context, self.model)
        with self.context.sessions() as session:
            keys = list(session.scalars(select(Message.external_id).where(
                Message.direction == Direction.OUTBOUND.value, Message.id > self.seen).order_by(Message.id)))
            self.seen = session.scalar(select(func.max(Message.id))) or 0
        mails = []
        for key in keys:
            (path,) = dropped_copies(self.context.settings.data_dir / "outgoing", key)
            mails.append(email.message_from_bytes(path.read_bytes(), policy=policy.default))
        return mails

    def case(self, reference: str) -> Case:
        with self.context.sessions() as session:
            found = cases.by_reference(session, reference)
            assert found is not None
            found.stages, found.actions  # load them before the session closes
            return found

    def later(self, **delta: float) -> None:
        self.clock += dt.timedelta(**delta)


def text(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content()


def reference_in(mail: EmailMessage) -> str:
    subject = str(mail["Subject"])
    return subject[subject.rindex("[") + 1:subject.rindex("]")]
