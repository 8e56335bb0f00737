"""One interface for every channel: an input side that hands each message to one Store, and an
output side that sends an OutboundMessage in the channel's own form.

After Rasa's InputChannel/OutputChannel pair: a channel without buttons is given the choices in
words by `Channel.send` ("Reply 1 to make a complaint, or 2 to deal with it as a request"), so
the conversation asks the same question everywhere and never needs to know which channel it is
talking to. What differs between channels lives with the channel: whether it is a chat or a
letter, how an address is written, how choices are shown, and which threading headers it keeps.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar, Protocol

from intake.message import InboundMessage

if TYPE_CHECKING:
    from fastapi import APIRouter


@dataclass(frozen=True)
class Stored:
    """What storing a message gave: its record's id, and whether it was new (False: a duplicate)."""

    message_id: int
    created: bool


@dataclass(frozen=True)
class Receipt:
    """A channel's word on a message we sent: delivered, or failed and why (Notify's delivery receipts)."""

    channel: str
    key: str  # the OutboundMessage's key, which the channel gave the service as its reference
    status: str  # the service's own status word, e.g. "delivered", "permanent-failure"
    delivered: bool
    failed: bool  # the service gave up: nobody will get it unless a person acts
    at: dt.datetime


class Store(Protocol):
    """Where every input side hands what it receives. A message is durable once the future holds its
    Stored; only then may the channel tell its sender it has it (SMTP 250, an HTTP 200, an offset)."""

    def submit(self, message: InboundMessage) -> Future[Stored]: ...

    def record_receipt(self, receipt: Receipt) -> None: ...


class Listener(Protocol):
    """An input side that runs by itself (a server, a poller): started and stopped by `triage run`,
    which logs it by str(): what it is and where it listens, never a secret."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Choice:
    value: str  # what the answer is read as ("complaint")
    label: str  # what the resident sees ("Make a complaint")


def choices_from(options: Sequence[str]) -> tuple[Choice, ...]:
    """The record keeps each choice as "value|label"; the one place that encoding is read."""
    return tuple(Choice(*option.split("|", 1)) if "|" in option else Choice(option, option) for option in options)


def in_words(choices: Sequence[Choice]) -> str:
    """The choices for a channel without buttons, numbered in their order: the answer "1" is the first
    (bot/answers.py reads a bare 1 as the complaint, which CHOICE_OPTIONS lists first)."""
    parts = [f"{number} to {choice.label[:1].lower()}{choice.label[1:]}" for number, choice in enumerate(choices, 1)]
    return "Reply " + (", or ".join(parts) if len(parts) <= 2 else ", ".join(parts[:-1]) + ", or " + parts[-1]) + "."


@dataclass(frozen=True)
class OutboundMessage:
    """What the outbox asks a channel to send: built from the stored record, never from memory."""

    key: str  # idempotency key: the record's external_id (an email's Message-ID, Notify's reference)
    address: str
    text: str
    choices: tuple[Choice, ...] = ()
    subject: str = ""
    reference: str | None = None  # the case's reference
    in_reply_to: str | None = None  # the resident's message this answers; a channel keeps it where it threads
    references: tuple[str, ...] = ()
    automatic: bool = True


class Channel(ABC):
    """A channel by name: its nature, its input sides and its output side."""

    name: ClassVar[str]
    chat: ClassVar[bool]  # short messages in a conversation; False: letters, with subjects and threading
    buttons: ClassVar[bool] = False  # shows choices as buttons; False: in words
    roles: ClassVar[tuple[str, ...]] = ()  # `triage run` roles that run this channel's listeners

    def normalise(self, address: str) -> str:
        """An address as the channel writes it, so one resident is one contact point."""
        return address.strip()

    def listeners(self, role: str, store: Store) -> list[Listener]:
        """The input sides that run by themselves under a role (SMTP server, IMAP pollers, long polling)."""
        return []

    def router(self, store: Store) -> APIRouter | None:
        """The input side the web role serves (web chat, webhooks, callbacks), if this channel has one."""
        return None

    def send(self, message: OutboundMessage) -> None:
        """Send, with the choices as buttons where the channel has them and in words where it has not.

        Raises on failure, so the outbox retries."""
        if message.choices and self.buttons:
            self.send_text_with_choices(message)
        elif message.choices:
            self.send_text(replace(message, text=f"{message.text.rstrip()}\n\n{in_words(message.choices)}", choices=()))
        else:
            self.send_text(message)

    @abstractmethod
    def send_text(self, message: OutboundMessage) -> None: ...

    def forget(self, keys: Sequence[str]) -> int:
        """Remove any copies the channel keeps of these sent messages (`triage purge`); how many went."""
        return 0

    def send_text_with_choices(self, message: OutboundMessage) -> None:
        self.send_text(message)
