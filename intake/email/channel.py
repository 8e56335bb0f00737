"""Email as a channel: the SMTP server (smtp role) and IMAP pollers (imap role) in, letters out.

Email is the one channel of letters: each reply has a subject with the case's reference and is
threaded to the resident's message by In-Reply-To and References, which only this channel keeps.
A letter already names the choice in its own words (choice.txt), so choices are not added again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import ClassVar

from intake.channel import Channel, Listener, OutboundMessage, Store
from intake.email.send import OutboundEmail, Sender, build, remove_dropped

CHANNEL = "email"


class EmailChannel(Channel):
    name: ClassVar[str] = CHANNEL
    chat: ClassVar[bool] = False
    roles: ClassVar[tuple[str, ...]] = ("smtp", "imap")

    def __init__(self, transport: Sender, sender: str, sender_name: str, now: Callable[[], dt.datetime],
                 inputs: dict[str, Callable[[Store], list[Listener]]] | None = None) -> None:
        self.transport, self.sender, self.sender_name, self.now = transport, sender, sender_name, now
        self.inputs = inputs or {}  # role -> its listeners: the SMTP server, the pollers of TRIAGE_IMAP_URLS

    def normalise(self, address: str) -> str:
        """Mailbox names compare case-insensitively in practice."""
        return address.strip().lower()

    def listeners(self, role: str, store: Store) -> list[Listener]:
        make = self.inputs.get(role)
        return make(store) if make is not None else []

    def send(self, message: OutboundMessage) -> None:
        self.send_text(message)

    def forget(self, keys: Sequence[str]) -> int:
        """The .eml copies written to the drop folder when no outbound relay is set."""
        return remove_dropped(self.transport.drop_dir, list(keys))

    def send_text(self, message: OutboundMessage) -> None:
        mail = OutboundEmail(key=message.key, to=message.address, subject=message.subject or self.sender_name,
                             text=message.text, reference=message.reference, in_reply_to=message.in_reply_to,
                             references=list(message.references), automatic=message.automatic)
        self.transport.send(build(mail, self.sender, self.sender_name, self.now()), reference=message.reference)
