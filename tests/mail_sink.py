"""A resident's mail provider for tests: a real aiosmtpd server that keeps what it is sent."""

from __future__ import annotations

import email
import queue
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class Mailbox:
    def __init__(self) -> None:
        self.received: queue.Queue[EmailMessage] = queue.Queue()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.received.put(email.message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"

    def next(self, timeout: float = 30.0) -> EmailMessage:
        return self.received.get(timeout=timeout)

    def drain(self) -> list[EmailMessage]:
        found = []
        while not self.received.empty():
            found.append(self.received.get_nowait())
        return found


def sink(mailbox: Mailbox, port: int) -> Controller:
    return Controller(mailbox, hostname="127.0.0.1", port=port)
