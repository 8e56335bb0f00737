"""The closed sets of words the domain uses, stored as their string values.

Kinds and outcomes come from the Complaint Handling Code (CODE.md); keeping them as
StrEnum means the database holds readable words and reports need no lookup tables.
"""

from enum import StrEnum


class Kind(StrEnum):
    COMPLAINT = "complaint"
    SERVICE_REQUEST = "service_request"
    ENQUIRY = "enquiry"
    COMPLIMENT = "compliment"
    FEEDBACK = "feedback"


REFERENCE_PREFIX: dict[Kind, str] = {
    Kind.COMPLAINT: "CMP",
    Kind.SERVICE_REQUEST: "SR",
    Kind.ENQUIRY: "ENQ",
    Kind.COMPLIMENT: "CPL",
    Kind.FEEDBACK: "FBK",
}


class Theme(StrEnum):
    REPAIRS = "repairs"
    DAMP_MOULD = "damp_mould"
    ASB = "asb"
    TENANCY = "tenancy"
    RENT = "rent"
    ALLOCATIONS = "allocations"
    COMMUNAL = "communal"
    LEASEHOLD = "leasehold"
    STAFF_CONDUCT = "staff_conduct"
    COMPLAINT_HANDLING = "complaint_handling"
    OTHER = "other"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Role(StrEnum):
    ADVISOR = "advisor"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class ComplaintStatus(StrEnum):
    RECEIVED = "received"
    CHOICE_OFFERED = "choice_offered"
    DECLINED = "declined"
    STAGE1_LOGGED = "stage1_logged"
    STAGE1_ACKNOWLEDGED = "stage1_acknowledged"
    STAGE1_RESPONDED = "stage1_responded"
    ESCALATION_REQUESTED = "escalation_requested"
    STAGE2_ACKNOWLEDGED = "stage2_acknowledged"
    STAGE2_RESPONDED = "stage2_responded"
    CLOSED = "closed"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class RequestStatus(StrEnum):
    """Service requests, enquiries, compliments and feedback: recorded, worked, finished."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class Outcome(StrEnum):
    UPHELD = "upheld"
    PARTLY_UPHELD = "partly_upheld"
    NOT_UPHELD = "not_upheld"
    WITHDRAWN = "withdrawn"


class Remedy(StrEnum):
    """Code 7.1."""

    APOLOGY = "apology"
    ACKNOWLEDGE_FAILINGS = "acknowledge_failings"
    EXPLANATION = "explanation"
    ACTION_ON_DELAY = "action_on_delay"
    CHANGED_DECISION = "changed_decision"
    AMENDED_RECORD = "amended_record"
    FINANCIAL = "financial"
    CHANGED_POLICY = "changed_policy"


class RefusalReason(StrEnum):
    """Code 2.2, plus another reason that must carry its evidence (2.1, 2.4)."""

    OVER_TWELVE_MONTHS = "over_twelve_months"
    LEGAL_PROCEEDINGS = "legal_proceedings"
    ALREADY_CONSIDERED = "already_considered"
    OTHER = "other"


class LinkRelation(StrEnum):
    COMPLAINT_ABOUT_REQUEST = "complaint_about_request"  # Code 1.5
    RELATED_ISSUE = "related_issue"  # Code 6.8


class Hazard(StrEnum):
    NONE = "none"
    SIGNIFICANT = "significant"
    EMERGENCY = "emergency"


class Awaiting(StrEnum):
    """The question the bot last asked on a case, so the resident's next words are read as its answer."""

    CHOICE = "choice"  # complaint or request (1.3)
    OUTCOME = "outcome"  # what would put it right (5.6)
    ADJUSTMENTS = "adjustments"  # any help or another language (5.10)


class ChoiceAnswer(StrEnum):
    COMPLAINT = "complaint"
    REQUEST = "request"


class RestrictionMode(StrEnum):
    """How the bot treats a resident under a contact restriction (5.14): always recorded, never ignored."""

    NAMED_CONTACT = "named_contact"  # all contact goes through one officer; the bot only confirms receipt
    NO_AUTOMATED_REPLIES = "no_automated_replies"  # recorded and routed; the bot sends nothing


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry, or the channel could not deliver it: on the attention page
    SET_ASIDE = "set_aside"  # failed, and a person dealt with it another way (workflow/undelivered.py)


def row_id(text: str) -> int | None:
    """A row's id as a form or URL gives it: ASCII digits below 2**31, else None. `isdigit()`
    took "²" and 20-digit numbers, which then failed as a 500 (int() or the database overflowed)."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) < 2**31 else None


class AdjustmentKind(StrEnum):
    """What a resident can ask for to deal with us (5.10), as choices letters and staff can follow;
    the resident's own words are kept beside the choice."""

    PHONE = "phone"  # phone calls as well as letters
    WRITING_ONLY = "writing_only"  # write, do not phone
    LARGE_PRINT = "large_print"
    EASY_READ = "easy_read"
    INTERPRETER = "interpreter"  # the detail is the language
    SIGN_LANGUAGE = "sign_language"  # British Sign Language
    NAMED_CONTACT = "named_contact"  # one member of staff to deal with; the detail is who
    SUPPORTER = "supporter"  # someone who helps them (family, carer, advocate); the detail is who
    OTHER = "other"
