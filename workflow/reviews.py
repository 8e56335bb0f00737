"""Advisor reviews read back as training signal for `triage train --with-reviews`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workflow import audit
from workflow.calendar import WorkingCalendar
from workflow.corrections import Changed, become
from workflow.models import Case, Classification, Message, Review, User
from workflow.vocabulary import Kind, Theme


def reviewed_messages(session: Session) -> list[tuple[int, str, str, str]]:
    """(review id, message text, confirmed kind, confirmed theme), the latest review of each message only."""
    rows = session.execute(
        select(Review.id, Classification.message_id, Message.body_text, Review.confirmed_kind, Review.confirmed_theme)
        .join(Classification, Review.classification_id == Classification.id)
        .join(Message, Classification.message_id == Message.id)
        .order_by(Review.id)
    ).all()
    latest: dict[int, tuple[int, str, str, str]] = {}
    for review_id, message_id, text, kind, theme in rows:
        if text.strip():
            latest[message_id] = (review_id, text, kind, theme)
    return list(latest.values())


def latest_classification(session: Session, case: Case) -> Classification | None:
    return session.scalar(select(Classification).where(Classification.case_id == case.id)
                          .order_by(Classification.id.desc()))


def record_review(session: Session, calendar: WorkingCalendar, case: Case, classification: Classification,
                  reviewer: User, *, kind: str, theme: str, team: str, at: dt.datetime) -> tuple[Review, Changed]:
    """An advisor confirms or corrects a suggestion; the case takes the confirmed labels, a new kind
    through `corrections.become` (what to tell the resident is returned).

    Every review is kept, agreeing or not, so the supervisor can see agreement over time and the
    corrections become training data. The reference stays: residents already have it.
    """
    kind, theme = Kind(kind).value, Theme(theme).value
    review = Review(classification_id=classification.id, case_id=case.id, reviewer_id=reviewer.id,
                    suggested_kind=classification.kind, suggested_theme=classification.theme,
                    confirmed_kind=kind, confirmed_theme=theme, created_at=at)
    session.add(review)
    changed = {k: v for k, v in (("kind", kind), ("theme", theme), ("team", team))
               if getattr(case, k) != v}
    result = become(session, calendar, case, kind, reviewer.username, at,
                    asked_to_complain=bool((classification.flags or {}).get("explicit_complaint")),
                    reason="corrected by an advisor")
    case.theme, case.team = theme, team
    audit.record(session, "reviewed", reviewer.username, at, case=case, agreed=not changed,
                 **{f"new_{k}": v for k, v in changed.items()})
    return review, result


def corrections(session: Session, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
                kind: str | None = None, theme: str | None = None, reviewer_id: int | None = None,
                limit: int = 500) -> list[tuple[Review, str, str, str]]:
    """Reviews that changed the suggestion, newest first: (review, message text, case reference, reviewer)."""
    query = (select(Review, Message.body_text, Case.reference, User.username)
             .join(Classification, Review.classification_id == Classification.id)
             .join(Message, Classification.message_id == Message.id)
             .join(Case, Review.case_id == Case.id)
             .join(User, Review.reviewer_id == User.id)
             .where(or_(Review.suggested_kind != Review.confirmed_kind,
                        Review.suggested_theme != Review.confirmed_theme))
             .order_by(Review.created_at.desc(), Review.id.desc()).limit(limit))
    if since is not None:
        query = query.where(Review.created_at >= since)
    if until is not None:
        query = query.where(Review.created_at < until)
    if kind:
        query = query.where(or_(Review.suggested_kind == kind, Review.confirmed_kind == kind))
    if theme:
        query = query.where(or_(Review.suggested_theme == theme, Review.confirmed_theme == theme))
    if reviewer_id is not None:
        query = query.where(Review.reviewer_id == reviewer_id)
    return [(review, text, reference, name) for review, text, reference, name in session.execute(query)]


def confusion(session: Session, *, since: dt.datetime | None = None, until: dt.datetime | None = None
              ) -> dict[str, object]:
    """Suggested against confirmed, for kind and for theme, and the share agreed week by week."""
    query = select(Review.suggested_kind, Review.confirmed_kind, Review.suggested_theme, Review.confirmed_theme,
                   Review.created_at)
    if since is not None:
        query = query.where(Review.created_at >= since)
    if until is not None:
        query = query.where(Review.created_at < until)
    kinds = {k.value: {c.value: 0 for c in Kind} for k in Kind}
    themes = {t.value: {c.value: 0 for c in Theme} for t in Theme}
    weeks: dict[str, list[int]] = {}
    total = agreed = 0
    for suggested_kind, kind, suggested_theme, theme, at in session.execute(query):
        kinds[suggested_kind][kind] += 1
        themes[suggested_theme][theme] += 1
        same = suggested_kind == kind and suggested_theme == theme
        year, week, _ = at.isocalendar()
        counts = weeks.setdefault(f"{year}-W{week:02d}", [0, 0])
        counts[0] += same
        counts[1] += 1
        total += 1
        agreed += same
    return {"kind": kinds, "theme": themes, "reviews": total, "agreed": agreed,
            "weeks": [(week, n_agreed, n) for week, (n_agreed, n) in sorted(weeks.items())]}
