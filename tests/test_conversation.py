"""Whole email conversations, one test per Code rule the bot carries out.

Each message goes in through the same storage path as SMTP (`store_message`), the real model
classifies it, and replies leave through the outbox and the real mail builder into the .eml
drop folder, where the test reads them as a resident's mail program would. A controllable clock
makes the dates in the letters exact.
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

from sqlalchemy import func, select

from tests.desk import MONDAY, Desk, reference_in, text
from workflow import attention, cases
from workflow.calendar import london_date
from workflow.letters import SHIPPED, long_date
from workflow.lifecycle import ComplaintLifecycle
from workflow.models import Adjustment, AuditEvent, Case, ContactRestriction, Message, Resident, User
from workflow.vocabulary import ComplaintStatus, Direction, Kind, LinkRelation

CHASING = ("I reported my broken boiler three weeks ago and nobody has come. We still have no hot water "
           "and I am fed up with being ignored.")


def test_an_unhappy_resident_is_offered_the_choice_and_a_complaint_is_logged_from_their_first_message(desk: Desk) -> None:
    """1.3 and 6.2: the choice in plain words; answering 'complaint' two days later still counts from Monday."""
    desk.write(CHASING)
    (offer,) = desk.replies()
    assert "COMPLAINT or REQUEST" in text(offer)
    assert "5 working days" in text(offer) and "10 working days" in text(offer) and "Ombudsman" in text(offer)
    assert "we will deal with the problem" in text(offer)
    assert offer["Auto-Submitted"] == "auto-replied" and offer["In-Reply-To"]

    desk.later(days=2)
    desk.write("yes please make it a complaint", answering=offer)
    (logged,) = desk.replies()
    reference = reference_in(logged)
    assert reference.startswith("CMP-")
    acknowledgement_due = desk.context.calendar.add(london_date(MONDAY), 5)
    response_due = desk.context.calendar.add(acknowledgement_due, 10)
    assert f"by {long_date(acknowledgement_due)}" in text(logged)
    assert f"by {long_date(response_due)}" in text(logged)
    assert "what would you like us to do" in text(logged)

    desk.write("Fix the boiler and a refund for the weeks without hot water.", answering=logged)
    (adjustments,) = desk.replies()
    assert "another language" in text(adjustments)
    desk.write("I need letters in large print please", answering=adjustments)
    (thanks,) = desk.replies()
    assert reference in str(thanks["Subject"])

    case = desk.case(reference)
    assert case.status == ComplaintStatus.STAGE1_LOGGED
    assert case.received_on == london_date(MONDAY)
    assert case.choice_answer == "complaint"
    assert case.stages[0].outcomes_sought == "Fix the boiler and a refund for the weeks without hot water."
    assert case.adjustments_requested == "I need letters in large print please"
    assert case.awaiting is None


def test_choosing_a_request_in_free_words_keeps_the_problem_going_without_a_complaint(desk: Desk) -> None:
    """1.3 and 1.5: 'just fix it' is an answer; the problem becomes a service request, no complaint is logged."""
    desk.write(CHASING)
    (offer,) = desk.replies()
    desk.write("No I don't want to complain, just fix it please", answering=offer)
    (chosen,) = desk.replies()
    assert "not a complaint" in text(chosen)
    assert reference_in(chosen) == reference_in(offer), "one issue, one reference: no second case was opened"
    request = desk.case(reference_in(chosen))
    assert request.kind == Kind.SERVICE_REQUEST and request.status == "open" and request.choice_answer == "request"
    with desk.context.sessions() as session:
        assert session.scalar(select(func.count(Case.id)).where(
            Case.kind == Kind.COMPLAINT.value, Case.status != ComplaintStatus.DECLINED.value)) == 0


def test_an_answer_the_bot_cannot_read_is_asked_again_not_guessed(desk: Desk) -> None:
    desk.write(CHASING)
    (offer,) = desk.replies()
    desk.write("what do you mean", answering=offer)
    (again,) = desk.replies()
    assert "did not get that" in text(again)
    desk.write("COMPLAINT", answering=again)
    (logged,) = desk.replies()
    assert "is logged" in text(logged)


def test_a_stated_complaint_is_logged_without_asking(desk: Desk) -> None:
    """1.3: 'a stated complaint needs no question'."""
    desk.write("I want to make a formal complaint about how your officer spoke to me at the housing office.")
    (logged,) = desk.replies()
    assert "is logged" in text(logged)
    assert "COMPLAINT or REQUEST" not in text(logged)
    assert desk.case(reference_in(logged)).status == ComplaintStatus.STAGE1_LOGGED


def test_unhappiness_with_a_service_request_raises_a_linked_complaint_and_the_request_goes_on(desk: Desk) -> None:
    """1.5: both records stay, linked; the request is still open."""
    desk.write("Please can someone come and fix the bathroom extractor fan, it stopped working yesterday.")
    (receipt,) = desk.replies()
    request_reference = reference_in(receipt)
    assert request_reference.startswith("SR-")
    desk.later(days=21)
    desk.write("It has been three weeks and still nobody has come about the fan. This is really poor.",
               answering=receipt)
    (offer,) = desk.replies()
    assert "COMPLAINT or REQUEST" in text(offer)
    desk.write("complaint", answering=offer)
    (logged,) = desk.replies()
    assert request_reference in text(logged)
    complaint = desk.case(reference_in(logged))
    with desk.context.sessions() as session:
        request = cases.by_reference(session, request_reference)
        assert request is not None and request.status == "open"
        assert [c.reference for c in cases.complaints_about(session, request)] == [complaint.reference]


def _responded_complaint(desk: Desk) -> tuple[str, EmailMessage]:
    desk.write("I want to make a formal complaint: my repair appointment was missed twice.")
    (logged,) = desk.replies()
    reference = reference_in(logged)
    with desk.context.sessions() as session:
        case = cases.by_reference(session, reference)
        assert case is not None
        case.awaiting = None
        lifecycle = ComplaintLifecycle(session, desk.context.calendar)
        lifecycle.acknowledge(case, desk.clock, "advisor", handler_id=None, definition="Missed appointments",
                              outcomes_sought="A new appointment", responsible_for="Repairs")
        lifecycle.respond(case, desk.clock + dt.timedelta(days=3), "advisor", handler_id=None, outcome="upheld",
                          decision="Upheld", reasons="Both appointments were missed", remedies=["apology"],
                          remedy_detail="A written apology")
        session.commit()
    desk.later(days=5)
    return reference, logged


def test_an_unhappy_reply_to_the_stage1_response_escalates_without_asking_why(desk: Desk) -> None:
    """6.12: no reasons are asked for."""
    reference, logged = _responded_complaint(desk)
    desk.write("I am not happy with your response at all.", answering=logged)
    (escalated,) = desk.replies()
    assert "stage 2" in text(escalated) and "do not need to give us reasons" in text(escalated)
    assert "?" not in text(escalated).split("Ombudsman")[0]
    case = desk.case(reference)
    assert case.status == ComplaintStatus.ESCALATION_REQUESTED and case.stage == 2


def test_a_related_issue_before_the_stage1_response_joins_the_complaint(desk: Desk) -> None:
    """6.8, first half."""
    desk.write("I want to make a formal complaint that my damp bedroom was never treated.")
    (logged,) = desk.replies()
    desk.write("Treat the damp properly", answering=logged)
    (question,) = desk.replies()
    assert "another language" in text(question)
    desk.write("Also the mould has now spread from the bedroom to the damp living room wall as well, and it "
               "smells terrible in there.", answering=question)
    (added,) = desk.replies()
    assert reference_in(added) == reference_in(logged)
    assert "part of your complaint" in text(added)


def test_after_the_stage1_response_a_new_issue_is_a_new_case_linked_to_the_old(desk: Desk) -> None:
    """6.8, second half: never merged into an answered case."""
    reference, logged = _responded_complaint(desk)
    desk.write("Thanks. Separately, can you tell me when my rent account statement will be sent?", answering=logged)
    (reply,) = desk.replies()
    assert reference_in(reply) != reference
    with desk.context.sessions() as session:
        new = cases.by_reference(session, reference_in(reply))
        assert new is not None
        assert session.scalar(select(func.count()).select_from(cases.CaseLink).where(
            cases.CaseLink.from_case_id == new.id, cases.CaseLink.relation == LinkRelation.RELATED_ISSUE.value)) == 1


def test_a_survey_reply_gets_the_how_to_complain_signpost_not_a_complaint(desk: Desk) -> None:
    """1.6."""
    desk.write("Survey reply: I'd rate the repair 3 out of 10, the operative left a mess and was late.",
               subject="Your repairs satisfaction survey")
    (signpost,) = desk.replies()
    assert "you can make a complaint" in text(signpost)
    assert desk.case(reference_in(signpost)).kind == Kind.FEEDBACK


def test_a_representative_is_recorded_and_answered(desk: Desk) -> None:
    """1.3 and 3.6: a complaint by a representative is a complaint like any other."""
    desk.write("I am writing on behalf of my mother Mrs Patel at 4 Elm Court. I want to make a formal complaint "
               "that her heating repair has been cancelled three times.", sender="councillor.ray@example.gov.uk")
    (logged,) = desk.replies()
    assert logged["To"] == "councillor.ray@example.gov.uk"
    case = desk.case(reference_in(logged))
    assert case.kind == Kind.COMPLAINT
    assert case.representative is not None and "on behalf of" in case.representative


def test_automatic_replies_and_bounces_are_recorded_and_never_answered(desk: Desk) -> None:
    """RFC 3834: otherwise two robots write to each other for ever."""
    desk.write(CHASING)
    (offer,) = desk.replies()
    desk.write("I am out of the office until Monday.", answering=offer, headers={"Auto-Submitted": "auto-replied"})
    desk.write("Delivery failed", subject="Undeliverable: your message", sender="mailer-daemon@example.net")
    assert desk.replies() == []
    with desk.context.sessions() as session:
        automatic = list(session.scalars(select(Message).where(
            Message.automatic.is_(True), Message.direction == Direction.INBOUND.value).order_by(Message.id)))
        assert len(automatic) == 2 and all(m.handled_at is not None for m in automatic)
        assert automatic[0].case_id is not None  # kept with the case it answered


def test_a_resident_under_a_named_contact_restriction_gets_only_the_agreed_receipt(desk: Desk) -> None:
    """5.14: recorded and routed; no questions from the bot."""
    desk.write("Please can you tell me my rent balance.", sender="restricted@example.net")
    desk.replies()
    with desk.context.sessions() as session:
        resident = session.scalar(select(Resident).join(Resident.contact_points).where(
            Resident.contact_points.any(address="restricted@example.net")))
        assert resident is not None
        session.add(ContactRestriction(resident_id=resident.id, restriction="Contact only through one officer",
                                       mode="named_contact", contact="Sam Lee, Tenancy Officer",
                                       reason="Abusive calls to the contact centre", starts_on=dt.date(2026, 11, 1),
                                       review_on=dt.date(2027, 2, 1)))
        session.commit()
    desk.write(CHASING, sender="restricted@example.net")
    (receipt,) = desk.replies()
    assert "Sam Lee, Tenancy Officer will deal with it" in text(receipt)
    assert "COMPLAINT or REQUEST" not in text(receipt)


def test_a_message_in_another_language_has_its_language_noted(desk: Desk) -> None:
    desk.write("Dzień dobry, w mojej łazience jest bardzo dużo pleśni i nikt nie przyszedł tego naprawić. "
               "Proszę o pomoc, mam małe dziecko.")
    (reply,) = desk.replies()
    assert desk.case(reference_in(reply)).language == "pl"


def test_a_flood_of_messages_is_all_kept_but_not_all_answered(desk: Desk) -> None:
    for n in range(15):
        desk.write(f"Hello? Anyone there? Message {n}", subject=f"hello {n}", sender="flood@example.net")
    replies = desk.replies()
    assert 1 <= len(replies) <= 6
    with desk.context.sessions() as session:
        kept = session.scalar(select(func.count(Message.id)).where(
            Message.sender == "flood@example.net", Message.handled_at.is_not(None)))
        assert kept == 15


def test_a_reply_to_a_finished_request_is_a_new_case_not_merged_into_the_old_one(desk: Desk) -> None:
    """Issue 4's threading rule: a new topic in an old thread is never silently merged into a closed case."""
    desk.write("Please could someone replace the broken light bulb cover in my hallway?")
    (receipt,) = desk.replies()
    old = reference_in(receipt)
    with desk.context.sessions() as session:
        request = cases.by_reference(session, old)
        assert request is not None
        cases.set_request_status(session, request, "done", desk.clock, "advisor")
        session.commit()
    desk.later(days=30)
    desk.write("Hello again, now the bathroom door handle has come off. Can you send someone?", answering=receipt)
    (reply,) = desk.replies()
    assert reference_in(reply) != old


def test_a_resident_who_says_a_finished_repair_is_not_done_gets_it_opened_again(desk: Desk) -> None:
    """A done request stayed done for ever: the resident's "it's still leaking" opened a second case."""
    desk.write("Please could someone fix the dripping tap in my kitchen?")
    (receipt,) = desk.replies()
    reference = reference_in(receipt)
    with desk.context.sessions() as session:
        request = cases.by_reference(session, reference)
        assert request is not None
        cases.set_request_status(session, request, "done", desk.clock, "advisor")
        session.commit()
    desk.later(days=3)
    desk.write("The plumber came but the tap is still dripping, it hasn't been fixed.", answering=receipt)
    (reply,) = desk.replies()
    assert reference_in(reply) == reference
    assert desk.case(reference).status == "open" and desk.case(reference).ended_on is None


def test_a_reference_quoted_in_a_new_email_finds_the_residents_case_and_no_one_elses(desk: Desk) -> None:
    desk.write("Please can someone look at my blocked kitchen sink?")
    (receipt,) = desk.replies()
    reference = reference_in(receipt)
    desk.later(hours=2)
    desk.write(f"About {reference}: the water is now backing up into the bath too.", subject="Sink")
    (mine,) = desk.replies()
    assert reference_in(mine) == reference
    desk.write(f"About {reference}: what is happening with this?", subject="Sink", sender="stranger@example.net")
    (theirs,) = desk.replies()
    assert reference_in(theirs) != reference
    assert "blocked kitchen sink" not in text(theirs)


def test_letters_waiting_together_are_each_answered_and_a_flood_from_one_address_is_kept_without_replies(
        desk: Desk) -> None:
    """On SQLite the worker handles waiting messages in one transaction; each must still see the ones before
    it: one resident for one address, and the seventh reply in a minute held back (the flood rule)."""
    for n in range(8):
        desk.write(f"Please could someone fix the broken fence panel number {n} in my back garden?",
                   subject=f"Fence {n}", sender="flooding@example.net")
    replies = desk.replies()
    assert len(replies) == 6
    with desk.context.sessions() as session:
        inbound = list(session.scalars(select(Message).where(Message.direction == Direction.INBOUND.value)))
        held = session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "reply_held_back"))
        residents = session.scalar(select(func.count()).select_from(Resident))
    assert len(inbound) == 8 and all(m.handled_at is not None and m.case_id is not None for m in inbound)
    assert held == 2 and residents == 1


def test_a_letter_that_cannot_be_answered_is_left_for_an_advisor_and_the_letters_waiting_with_it_are_answered(
        desk: Desk) -> None:
    """An admin's edit to the receipt letter that fails for one team (a name the letter is never given) must
    not take the other residents' letters, handled in the same transaction, down with it."""
    own = desk.context.settings.data_dir / "templates"
    own.mkdir(parents=True, exist_ok=True)
    (own / "receipt.txt").write_text('{% if team == "Rents and income" %}{{ rent_line }}{% endif %}'
                                     + (SHIPPED / "receipt.txt").read_text(encoding="utf-8"), encoding="utf-8")
    desk.write("My kitchen tap is dripping. Please could you send a plumber to fix it.", sender="tap@example.net")
    rent = desk.write("When is my rent due this month? I pay by direct debit and want to check the date.",
                      sender="rent@example.net")
    desk.write("The light in the stairwell outside my flat is not working, please can someone replace the bulb.",
               sender="light@example.net")
    replies = desk.replies()
    assert sorted(str(reply["To"]) for reply in replies) == ["light@example.net", "tap@example.net"]
    with desk.context.sessions() as session:
        failed = session.scalar(select(Message).where(Message.external_id == rent))
        assert failed is not None and failed.handled_at is not None and failed.case_id is None
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.message_id == failed.id)))
        waiting = [(m.id, m.failure) for m in attention.waiting(session)]
    assert actions == ["message_received", "handling_failed"]
    assert waiting == [(failed.id, "UndefinedError: 'rent_line' is undefined")], "in front of a person, with why"

    (own / "receipt.txt").unlink()  # the admin puts the letter right, and an advisor sends the message back
    with desk.context.sessions() as session:
        attention.retry(session, failed.id, "alex", desk.clock)
        session.commit()
    (reply,) = desk.replies()
    assert str(reply["To"]) == "rent@example.net" and reference_in(reply)
    with desk.context.sessions() as session:
        assert attention.count_waiting(session) == 0
        assert session.get_one(Message, failed.id).case_id is not None


def test_a_message_read_while_the_database_went_away_is_answered_on_a_later_pass(desk: Desk, monkeypatch) -> None:
    """PostgreSQL restarted while the first message was read; it was marked for an advisor and never answered."""
    from sqlalchemy.exc import OperationalError

    from bot.conversation import Conversation

    desk.write("When are the bins collected on our road?", sender="bins@example.net")
    handle = Conversation._handle_together
    failures = []

    def connection_lost(self, session, messages, postgres):  # noqa: ANN001, ANN202 - the real method's shape
        if not failures:
            failures.append(len(messages))
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"), connection_invalidated=True)
        return handle(self, session, messages, postgres)

    monkeypatch.setattr(Conversation, "_handle_together", connection_lost)
    assert desk.replies() == [] and failures == [1]
    with desk.context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "handling_failed")) == 0
    (reply,) = desk.replies()
    assert reference_in(reply)


def test_a_complaint_stored_by_a_host_whose_clock_is_a_second_ahead_is_logged_not_left_for_an_advisor(
        desk: Desk) -> None:
    """The SMTP host stamped the message a second after the worker's 'now': logging it raised and it was set aside."""
    desk.write("I want to make a formal complaint about how long the repair to my roof has taken.",
               sender="roof@example.net")
    stored_at = desk.clock
    desk.clock -= dt.timedelta(seconds=1)
    (reply,) = desk.replies()
    reference = reference_in(reply)
    assert reference.startswith("CMP-")
    case = desk.case(reference)
    assert case.status == "stage1_logged" and case.received_on == london_date(stored_at - dt.timedelta(seconds=1))
    with desk.context.sessions() as session:
        assert attention.count_waiting(session) == 0


def test_plus_tagged_addresses_share_one_mailbox_s_limits_and_bursts_a_minute_apart_do_not_reset_them(
        desk: Desk) -> None:
    """300 letters from victim+1@ to victim+300@ got 300 replies; each burst a minute apart got 6 more."""
    for burst in range(5):
        for n in range(8):
            desk.write(f"Please could someone fix the broken fence panel {burst}-{n} in my back garden?",
                       subject=f"Fence {burst}-{n}", sender=f"Victim+{burst * 8 + n}@Example.NET")
        desk.replies()  # handled and answered, as far as the limits let the bot
        desk.later(minutes=1, seconds=5)
    with desk.context.sessions() as session:
        sent = session.scalars(select(Message.sender).where(Message.direction == Direction.OUTBOUND.value)).all()
        inbound = session.scalars(select(Message).where(Message.direction == Direction.INBOUND.value)).all()
        rules = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "reply_held_back")).all()
    assert len(sent) == 20, "six a minute, twenty an hour, to the one mailbox behind every plus-tag"
    assert len(inbound) == 40 and all(m.case_id is not None for m in inbound), "every letter is still on a case"
    assert sorted({r["rule"] for r in rules}) == ["per_hour", "per_minute"]


def test_replies_to_one_domain_are_bounded_and_other_domains_are_still_answered(desk: Desk) -> None:
    """Letters forged from many addresses at a domain someone wants flooded (backscatter) get a bounded number."""
    desk.context.settings.replies_per_domain_hour = 3
    for n in range(5):
        desk.write(f"Please can someone collect the dumped mattress number {n} behind block C?",
                   subject=f"Mattress {n}", sender=f"staff{n}@target.example")
    desk.write("Please can someone collect the dumped sofa behind block D?", subject="Sofa", sender="me@home.example")
    sent = sorted(str(reply["To"]) for reply in desk.replies())
    assert sent == ["me@home.example", "staff0@target.example", "staff1@target.example", "staff2@target.example"]


def auto_responder(desk: Desk, address: str, every: float, says: str, rounds: int = 12) -> int:
    """A resident's first letter, then an auto-responder at `address` that answers each of our letters
    `every` seconds later without marking itself automatic; how many of our letters it got."""
    desk.write("The light on our landing has been flickering for a week, please can someone look at it.",
               sender=address)
    (reply,) = desk.replies()
    answered = 1
    for _ in range(rounds):
        desk.later(seconds=every)
        desk.write(says, answering=reply, sender=address)
        mails = desk.replies()
        if not mails:
            break
        (reply,) = mails
        answered += 1
    return answered


def test_an_auto_responder_that_ignores_rfc_3834_is_answered_a_few_times_then_stopped_and_shown_to_staff(
        desk: Desk) -> None:
    """No Auto-Submitted header, no "Automatic reply" subject: a loop of 4 round trips a minute ran until stopped."""
    answered = auto_responder(desk, "away@example.net", every=15,
                              says="Thank you for your email. I am away from my desk and will read it when I am back.")
    assert answered <= 6, answered
    with desk.context.sessions() as session:
        flagged = attention.waiting(session)
    assert [m.sender for m in flagged] == ["away@example.net"] and "auto-responder" in flagged[0].failure
    assert flagged[0].case_id is not None, "kept on its case; only the bot's reply was not sent"


def test_the_same_letter_on_the_same_case_goes_to_an_email_address_once_a_day(desk: Desk) -> None:
    """RFC 3834 5: a responder sends the same response to the same sender at most once in a period."""
    desk.write("Please can someone come and fix the bathroom extractor fan, it stopped working yesterday.",
               sender="fan@example.net")
    (receipt,) = desk.replies()
    desk.later(hours=2)
    desk.write("I forgot to say the fan makes a burning smell before it stops.", answering=receipt,
               sender="fan@example.net")
    (added,) = desk.replies()
    assert "added" in text(added).lower() and reference_in(added) == reference_in(receipt)
    desk.later(hours=2)
    desk.write("Also the light pull cord in the bathroom is frayed.", answering=receipt, sender="fan@example.net")
    assert desk.replies() == [], "the same letter on the same case, the same mailbox, the same day"
    desk.later(hours=23)  # a day and an hour after the last "added" letter
    desk.write("Is anyone coming this week?", answering=receipt, sender="fan@example.net")
    (again,) = desk.replies()
    assert reference_in(again) == reference_in(receipt)
    with desk.context.sessions() as session:
        held = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "reply_held_back")).all()
        shown = [(m.new_text, m.failure) for m in attention.waiting(session)]
    assert [h["rule"] for h in held] == ["same_letter"]
    assert [text for text, _ in shown] == ["Also the light pull cord in the bathroom is frayed."]
    assert "same letter on this case less than 24 hours ago" in str(shown[0][1]), "a person may be waiting: shown"


def test_a_loop_the_once_a_day_rule_does_not_catch_is_stopped_by_the_letters_on_its_thread(desk: Desk) -> None:
    """With the same-letter window shorter than the loop's round trip, the count of letters on the thread stops it."""
    desk.context.settings.same_letter_hours = 0.001  # 3.6 seconds; the loop below comes back every 20
    answered = auto_responder(desk, "loop@example.net", every=20, says="Your message has been received by our system.")
    assert answered == 5, "five letters on the thread in an hour are answered; the sixth is a loop"
    with desk.context.sessions() as session:
        (shown,) = attention.waiting(session)
    assert "reply loop" in str(shown.failure) and shown.case_id is not None


def test_mail_the_council_s_gateway_could_not_verify_changes_no_case_gets_no_reply_and_is_shown_to_staff(
        desk: Desk) -> None:
    """A forged mail quoting a resident's reference declined their complaint, and a forged "formal complaint"
    with a link was quoted word for word in the acknowledgement sent to the person whose address it used."""
    desk.context.settings.trusted_authserv_ids = ["mx.council.example"]
    passed = {"Authentication-Results": "mx.council.example; spf=pass smtp.mailfrom=example.net; "
                                        "dkim=pass header.d=example.net; dmarc=pass header.from=example.net"}
    desk.write("I've waited six weeks for the damp in my flat to be looked at and I'm fed up.",
               sender="victim@example.net", headers=passed)
    (offer,) = desk.replies()
    reference = reference_in(offer)
    assert desk.case(reference).status == ComplaintStatus.CHOICE_OFFERED
    failed = {"Authentication-Results": "mx.council.example; spf=fail smtp.mailfrom=example.net; dkim=none; "
                                        "dmarc=fail (p=reject) header.from=example.net"}
    desk.write(f"REQUEST. Not a complaint. {reference}", answering=offer, sender="victim@example.net", headers=failed)
    desk.write("I want to make a formal complaint. Log in at http://phish.example/council to follow it.",
               sender="victim@example.net", headers=failed)
    assert desk.replies() == [], "nobody is answered, least of all the person whose address was used"
    assert desk.case(reference).status == ComplaintStatus.CHOICE_OFFERED, "the forged answer changed nothing"
    with desk.context.sessions() as session:
        shown = attention.waiting(session)
        complaints = session.scalar(select(func.count(Case.id)).where(Case.kind == Kind.COMPLAINT.value))
    assert len(shown) == 2 and all("dmarc=fail" in str(m.failure) and m.case_id is None for m in shown)
    assert complaints == 1, "no complaint opened from the forged letter"


def test_exchange_online_s_header_without_an_authserv_id_is_read_when_named_and_only_at_the_top() -> None:
    """Exchange Online's Authentication-Results names no authserv-id, so a council on Microsoft 365 had
    no way to have its gateway's findings read."""
    from intake.email.authentication import verdict

    microsoft = ("spf=fail (sender IP is 198.51.100.7) smtp.mailfrom=example.net; dkim=none (message not signed) "
                 "header.d=none;dmarc=fail action=oreject header.from=example.net;compauth=fail reason=000")
    relaxed = microsoft.replace("action=oreject", "action=none")
    body = b"From: a@example.net\r\nSubject: x\r\n\r\nHello\r\n"
    top = f"Authentication-Results: {microsoft}\r\n".encode() + body
    assert verdict(top, ["exchange-online"]).forged is True
    assert verdict(top, ["exchange-online"]).checked_by == "exchange-online"
    assert verdict(top, ["mx.council.example"]).forged is False, "not named: not read"
    assert verdict(f"Authentication-Results: {relaxed}\r\n".encode() + body, ["exchange-online"]).forged is False
    below = f"Authentication-Results: mx.other.example; dmarc=pass\r\nAuthentication-Results: {microsoft}\r\n"
    assert verdict(below.encode() + body, ["exchange-online"]).forged is False, "one lower down is anyone's"


def test_results_written_by_anyone_but_the_council_s_gateway_are_not_believed() -> None:
    from intake.email.authentication import verdict

    def mail(*results: str) -> bytes:
        return b"".join(f"Authentication-Results: {r}\r\n".encode() for r in results) + (
            b"From: a@example.net\r\nSubject: x\r\n\r\nHello\r\n")

    trusted = ["MX.Council.example"]
    assert verdict(mail("evil.example; dmarc=fail"), trusted).forged is False  # not ours: ignored
    assert verdict(mail("mx.council.example; dmarc=fail"), []).forged is False  # no gateway named: nothing read
    assert verdict(mail("mx.council.example 1; dmarc=fail (p=quarantine)"), trusted).forged is True
    assert verdict(mail("mx.council.example; dmarc=fail (p=none)"), trusted).forged is False  # the domain asks nothing
    assert verdict(mail("mx.council.example; spf=fail; dkim=none"), trusted).forged is True  # no DMARC: SPF's fail
    assert verdict(mail("mx.council.example; spf=fail; dkim=pass"), trusted).forged is False
    top_first = verdict(mail("mx.council.example; dmarc=fail", "mx.council.example; dmarc=pass"), trusted)
    assert top_first.forged and top_first.summary() == "dmarc=fail at mx.council.example"


# -- letters a resident can act on (issue 24) ------------------------------------------------------

def test_a_gas_smell_is_answered_first_with_what_to_do_now(desk: Desk) -> None:
    desk.write("I can smell gas in the kitchen, it is really strong and the baby is in the flat.")
    (reply,) = desk.replies()
    opening = " ".join(text(reply).split()[:40])
    assert opening.startswith("If you smell gas") and "leave the home now" in opening and "0800 111 999" in opening
    assert "unhappy with us" not in text(reply)


def test_asking_how_to_complain_gets_the_choice_not_a_receipt(desk: Desk) -> None:
    desk.write("How do I make a complaint? Is there a form?", subject="Complaints")
    (reply,) = desk.replies()
    assert "you do not need a form" in text(reply) and "COMPLAINT or REQUEST" in text(reply)
    assert desk.case(reference_in(reply)).choice_offered_at is not None


FORMAL = ("Hello,\n\nI want to make a formal complaint. The damp in the bedroom has been reported four times since "
          "March and nobody has come to fix it.\n\nKind regards\nCllr Jane Smith\nFlat 4, 12 Oak Road\nLondon SE1 2AB\n"
          "07700 900456\n")


def test_the_adjustment_a_resident_asks_for_is_recorded_as_a_choice_and_followed_not_echoed(desk: Desk) -> None:
    desk.write(FORMAL, subject="Formal complaint")
    (logged,) = desk.replies()
    desk.write("A new bedroom wall and an apology.", answering=logged)
    (question,) = desk.replies()
    desk.write("Yes please, I find it easier if you phone me. My number is 07700 900123.", answering=question)
    (thanks,) = desk.replies()
    case = desk.case(reference_in(thanks))
    assert case.adjustments_asked == [{"kind": "phone", "detail": None}]
    assert case.adjustments_requested.startswith("Yes please, I find it easier if you phone me")
    assert "we will phone you about this too" in text(thanks) and "07700 900123" not in text(thanks)
    assert "You asked us for" not in text(thanks)


def test_the_automatic_acknowledgement_quotes_the_complaint_without_greeting_signature_or_address(desk: Desk) -> None:
    desk.write(FORMAL, subject="Formal complaint")
    (logged,) = desk.replies()
    desk.later(days=8)  # nobody acknowledged it: the scheduler does, on its last day
    (acknowledgement,) = desk.replies()
    quoted = text(acknowledgement)
    assert "in your own words" in quoted
    assert '"I want to make a formal complaint. The damp in the bedroom has been reported four times' in quoted
    for left_out in ("Hello", "Kind regards", "Cllr", "Oak Road", "SE1 2AB", "07700 900456"):
        assert left_out not in quoted, left_out


def _staff_action(desk: Desk, reference: str, action: str, **form: str) -> str:
    """What an advisor's button in the console does (workflow/console/actions.perform), on this desk's database."""
    from workflow.console.actions import perform
    from workflow.reports import teams_of
    from workflow.users import add_user

    with desk.context.sessions.begin() as session:
        user = session.scalar(select(User).where(User.username == "amir")) or add_user(
            session, "amir", "advisor", "a long enough password", desk.clock, "test")
        case = session.scalar(select(Case).where(Case.reference == reference))
        assert case is not None
        return perform(session, desk.context.calendar, desk.context.letters, case, user, action, form, desk.clock,
                       teams=teams_of(desk.context.settings.team_for))


def test_a_withdrawn_complaint_gets_a_letter_saying_it_is_closed(desk: Desk) -> None:
    desk.write(FORMAL, subject="Formal complaint")
    (logged,) = desk.replies()
    said = _staff_action(desk, reference_in(logged), "withdraw", note="Resident phoned: the damp is fixed")
    assert "has been told" in said
    (letter,) = desk.replies()
    assert "is closed, as you asked" in text(letter) and reference_in(logged) in text(letter)


def test_an_agreed_interpreter_is_followed_by_every_later_letter(desk: Desk) -> None:
    desk.write(FORMAL, subject="Formal complaint")
    (logged,) = desk.replies()
    review = (desk.clock + dt.timedelta(days=90)).date().isoformat()
    _staff_action(desk, reference_in(logged), "adjust", kind="interpreter", detail="Polish", description="",
                  review_on=review)
    desk.write("I also want the mould treated.", answering=logged)
    (later,) = desk.replies()
    assert "a Polish interpreter when we speak to you" in text(later)
    with desk.context.sessions() as session:
        (agreed,) = session.scalars(select(Adjustment)).all()
        assert (agreed.kind, agreed.detail, agreed.description) == ("interpreter", "Polish", "interpreter")
