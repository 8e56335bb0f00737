"""Text messages through GOV.UK Notify: the real notifications-python-client against a local
stand-in of Notify's API (tests/notify_api.py), the real web app answering Notify's callbacks,
and `triage tick` doing the conversation's, the scheduler's and the outbox's work."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from notifications_python_client.errors import HTTPError
from sqlalchemy import func, select

from bot.answers import read_choice
from bot.context import Context
from bot.service import tick
from bot.settings import Settings
from bot.web import create_app
from classifier.model import TriageModel
from intake.channel import OutboundMessage, choices_from, in_words
from intake.sms import LIMIT, NotifySettings, SmsChannel, e164, parts
from tests.notify_api import API_KEY, CALLBACK_TOKEN, TEMPLATE_ID, FakeNotify, fake_notify
from tests.servers import web_server
from workflow.correspondence import CHOICE_OPTIONS
from workflow.models import AuditEvent, Case, ContactRestriction, Message, OutboxItem, Resident
from workflow.vocabulary import ChoiceAnswer, ComplaintStatus, DeliveryStatus, Direction

UNHAPPY = "My bathroom repair still has not been done after 4 weeks, I am fed up waiting"
PHONE = "+447700900123"


@dataclass
class Texts:
    context: Context
    model: TriageModel
    api: FakeNotify

    def tick(self) -> dict[str, int]:
        return tick(self.context, self.model)

    def inbound(self) -> int:
        with self.context.sessions() as session:
            return session.scalar(select(func.count()).select_from(Message).where(
                Message.channel == "sms", Message.direction == Direction.INBOUND.value)) or 0


@pytest.fixture
def texts(database_url: str, tmp_path: Path, model: TriageModel) -> Iterator[Texts]:
    with fake_notify() as (api, base_url):
        settings = Settings(_env_file=None, database_url=database_url, data_dir=tmp_path, notify_api_key=API_KEY,
                            notify_sms_template_id=TEMPLATE_ID, notify_callback_token=CALLBACK_TOKEN,
                            notify_base_url=base_url)
        context = Context(settings)
        context.migrate()
        with web_server(create_app(context)) as url:
            api.service_url = url
            yield Texts(context, model, api)
        context.engine.dispose()


def test_a_whole_conversation_by_text_message(texts: Texts) -> None:
    """Unhappy text in, the choice in words, "1" answered, stage 1 logged, the acknowledgement by text."""
    assert texts.api.text("07700 900123", UNHAPPY).status_code == 200
    texts.tick()
    (offer,) = texts.api.sent_to(PHONE)
    assert "Reply 1 to make a complaint, or 2 to deal with it as a request." in offer["body"]
    assert "button" not in offer["body"]
    assert offer["reference"].startswith("out-")

    assert texts.api.text("447700900123", "1").status_code == 200  # Notify's own form of the same number
    texts.tick()
    logged = texts.api.sent_to(PHONE)[1]
    assert "is logged" in logged["body"]
    with texts.context.sessions() as session:
        case = session.scalars(select(Case).where(Case.channel == "sms")).one()
        assert case.status == ComplaintStatus.STAGE1_LOGGED.value
        assert session.scalar(select(func.count()).select_from(Resident)) == 1  # one resident, one number
        due = case.stages[0].acknowledgement_due
        reference = case.reference

    texts.context.now = lambda: dt.datetime.combine(due, dt.time(16, 0), tzinfo=dt.UTC)  # past the set hour
    assert texts.tick()["acknowledged"] == 1
    acknowledgement = texts.api.sent_to(PHONE)[-1]
    assert reference in acknowledgement["body"]
    assert all(len(sent["body"]) <= LIMIT for sent in texts.api.sent_to(PHONE))
    with texts.context.sessions() as session:
        assert session.get_one(Case, case.id).status == ComplaintStatus.STAGE1_ACKNOWLEDGED.value


def test_a_callback_without_the_right_token_is_refused_and_nothing_is_stored(texts: Texts) -> None:
    assert texts.api.text(PHONE, UNHAPPY, token=None).status_code == 401
    assert texts.api.text(PHONE, UNHAPPY, token="someone-elses-token").status_code == 401
    assert texts.api.text(PHONE, UNHAPPY, token=CALLBACK_TOKEN + "x").status_code == 401
    assert texts.inbound() == 0
    assert texts.api.text(PHONE, UNHAPPY).status_code == 200
    assert texts.inbound() == 1


def test_a_redelivered_callback_is_stored_and_answered_once(texts: Texts) -> None:
    first = texts.api.text(PHONE, "When is the bulky waste collection on my estate?", id="4d1f0c3e-redelivered")
    again = texts.api.text(PHONE, "When is the bulky waste collection on my estate?", id="4d1f0c3e-redelivered")
    assert first.json() == {"stored": first.json()["stored"], "duplicate": False}
    assert again.json() == {"stored": first.json()["stored"], "duplicate": True}
    texts.tick()
    assert texts.inbound() == 1
    assert len(texts.api.sent_to(PHONE)) == 1


def test_a_text_from_a_resident_under_a_contact_restriction_follows_it(texts: Texts) -> None:
    texts.api.text(PHONE, "Please can you tell me my rent balance.")
    texts.tick()
    with texts.context.sessions() as session:
        resident = session.scalars(select(Resident)).one()
        session.add(ContactRestriction(resident_id=resident.id, restriction="Contact only through one officer",
                                       mode="named_contact", contact="Sam Lee, Tenancy Officer",
                                       reason="Abusive calls to the contact centre", starts_on=dt.date(2026, 11, 1),
                                       review_on=dt.date(2027, 2, 1)))
        session.commit()
    texts.api.text(PHONE, UNHAPPY)
    texts.tick()
    receipt = texts.api.sent_to(PHONE)[-1]
    assert "Sam Lee, Tenancy Officer will deal with it" in receipt["body"]
    assert "Reply 1" not in receipt["body"]


def test_delivery_receipts_are_recorded_and_a_failed_text_is_marked_for_a_person(texts: Texts) -> None:
    texts.api.text(PHONE, "Please could you send someone to fix my front door lock, it is stiff.")
    texts.tick()
    (sent,) = texts.api.sent_to(PHONE)
    assert texts.api.receipt(sent, "delivered", token="wrong-token").status_code == 401
    assert texts.api.receipt(sent, "delivered").status_code == 200
    texts.api.text(PHONE, "Also the bathroom light is flickering, can someone look at it?")
    texts.tick()
    failed = texts.api.sent_to(PHONE)[-1]
    assert texts.api.receipt(failed, "permanent-failure").status_code == 200
    with texts.context.sessions() as session:
        receipts = {(e.message_id, e.detail["status"]) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "delivery_receipt"))}
        ids = {key: session.scalar(select(Message.id).where(Message.external_id == key))
               for key in (sent["reference"], failed["reference"])}
        assert receipts == {(ids[sent["reference"]], "delivered"), (ids[failed["reference"]], "permanent-failure")}
        item = session.scalars(select(OutboxItem).where(OutboxItem.message_id == ids[failed["reference"]])).one()
        assert item.status == DeliveryStatus.FAILED.value and "permanent-failure" in (item.last_error or "")


def test_a_send_that_notify_refuses_is_retried_by_the_outbox(texts: Texts) -> None:
    texts.api.fail_next = 1
    texts.api.text(PHONE, "When is the bulky waste collection on my estate?")
    texts.tick()
    assert texts.api.sent_to(PHONE) == []
    with texts.context.sessions() as session:
        item = session.scalars(select(OutboxItem)).one()
        assert item.status == DeliveryStatus.PENDING.value and item.attempts == 1
        retry_at = item.next_attempt_at
    texts.context.now = lambda: retry_at.replace(tzinfo=dt.UTC) + dt.timedelta(seconds=1)
    texts.tick()
    assert len(texts.api.sent_to(PHONE)) == 1


LONG_LETTER = "\n\n".join(["We have booked the repair to your bathroom ceiling for next Tuesday. " * 3] * 12)


def _channel(base_url: str) -> SmsChannel:
    return SmsChannel(NotifySettings(api_key=API_KEY, template_id=TEMPLATE_ID, callback_token=CALLBACK_TOKEN,
                                     base_url=base_url))


def test_a_long_text_that_failed_part_way_is_not_sent_again_from_its_first_part_on_retry() -> None:
    expected = parts(LONG_LETTER)
    assert len(expected) >= 3
    with fake_notify() as (api, base_url):
        channel = _channel(base_url)
        message = OutboundMessage(key="ack-1", address="07700 900123", text=LONG_LETTER)
        api.fail_after, api.fail_next = 2, 1  # Notify takes two parts, then fails once
        with pytest.raises(HTTPError):
            channel.send_text(message)
        assert [n["body"] for n in api.sent_to(PHONE)] == expected[:2]
        channel.send_text(message)  # the outbox's retry
        assert [n["body"] for n in api.sent_to(PHONE)] == expected
        channel.send_text(OutboundMessage(key="ack-2", address=PHONE, text=LONG_LETTER))  # another letter: all of it
        assert [n["body"] for n in api.sent_to(PHONE)] == expected + expected


class Receipts:
    """What the web app's store does with Notify's receipts, kept in a list."""

    def __init__(self) -> None:
        self.receipts: list[Any] = []

    def submit(self, message: Any) -> Any:
        raise AssertionError("no text arrives in this test")

    def record_receipt(self, receipt: Any) -> None:
        self.receipts.append(receipt)


def test_a_part_notify_took_but_could_not_deliver_is_sent_again_with_the_rest() -> None:
    from fastapi import FastAPI

    expected = parts(LONG_LETTER)
    with fake_notify() as (api, base_url):
        outbox_side, store = _channel(base_url), Receipts()
        app = FastAPI()
        app.include_router(_channel(base_url).router(store))  # the web role's instance, as `triage run` makes it
        message = OutboundMessage(key="stage-1-letter", address=PHONE, text=LONG_LETTER)
        api.fail_after, api.fail_next = 1, 1
        with pytest.raises(HTTPError):
            outbox_side.send_text(message)
        with web_server(app) as url:
            api.service_url = url
            answer = api.receipt(api.sent_to(PHONE)[0], "permanent-failure")
        assert answer.status_code == 200 and [r.failed for r in store.receipts] == [True]
        outbox_side.send_text(message)  # a person's "Send again": the part that never arrived goes too
        assert [n["body"] for n in api.sent_to(PHONE)] == expected[:1] + expected


def test_phone_numbers_are_written_in_e164() -> None:
    for written in ("07700 900123", "07700-900-123", "+44 7700 900123", "447700900123", "0044 7700 900123",
                    "(07700) 900123"):
        assert e164(written) == PHONE
    for nonsense in ("", "hello", "0", "+44", "123"):
        with pytest.raises(ValueError):
            e164(nonsense)


def test_a_long_letter_is_split_into_numbered_texts_at_paragraphs_in_the_gsm_alphabet() -> None:
    paragraph = "We are sorry the repair took so long \u2013 it should not have. " * 6
    letter = "\n\n".join([paragraph] * 5)
    texts = parts(letter)
    assert len(texts) > 1 and all(len(text) <= LIMIT for text in texts)
    assert [text.split(" ", 1)[0] for text in texts] == [f"({n}/{len(texts)})" for n in range(1, len(texts) + 1)]
    assert "\u2013" not in "".join(texts) and " - it should" in texts[0]
    assert parts("Short and sweet \u2019") == ["Short and sweet '"]
    one_word = parts("x" * (LIMIT * 2))
    assert all(len(text) <= LIMIT for text in one_word) and len(one_word) == 3


def test_the_choice_in_words_is_read_back_as_the_choice_it_numbers() -> None:
    choices = choices_from(CHOICE_OPTIONS)
    assert in_words(choices) == "Reply 1 to make a complaint, or 2 to deal with it as a request."
    assert [read_choice(str(n)) for n in (1, 2)] == [ChoiceAnswer(c.value) for c in choices]


def test_a_subject_access_request_finds_the_resident_by_the_number_as_a_person_types_it(texts: Texts) -> None:
    from bot import channels
    from workflow.subject_access import find_residents

    texts.api.text("447700900123", "When is the bulky waste collection on my estate?")
    texts.tick()
    assert "+447700900123" in channels.addresses(texts.context, "07700 900123")
    with texts.context.sessions() as session:
        found = {r.id for each in channels.addresses(texts.context, "07700 900123")
                 for r in find_residents(session, each)}
        assert found == {session.scalars(select(Resident.id)).one()}
