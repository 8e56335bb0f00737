"""Settings from TRIAGE_* environment variables and .env (DESIGN.md's settings contract)."""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from workflow.calendar import Nation, WorkingCalendar, parse_closure_days
from workflow.db import sqlite_url
from workflow.letters import Letterhead
from workflow.reply_limits import ReplyLimits
from workflow.teams import team_map


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIAGE_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = None
    sqlite_busy_seconds: float = 30.0  # how long a write waits for another process's lock before it fails (451)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_max_bytes: int = 25 * 1024 * 1024
    smtp_max_connections: int = 200  # open at once; over it (or per client) a new connection gets 421
    smtp_max_connections_per_client: int = 20
    smtp_max_recipients: int = 100  # in one transaction; the rest get 452 and are sent again by the sender
    # Letters over 1 MB held in memory at once, by the SMTP server storing them and the worker parsing
    # them together: six 24 MB letters at once peaked at 639 MB with 2 for SMTP alone, 616 with 1, 564
    # with 1 shared with the worker (bench/smtp.py --large 6), where the idle process holds 450.
    smtp_large_at_once: int = 1
    # The product's SMTP server is the MX, straight from the internet: it checks SPF, DKIM and DMARC
    # itself and writes Authentication-Results under smtp_authserv_id (default triage.<mail domain>).
    smtp_first_hop: bool = False
    smtp_authserv_id: str = ""
    dns_servers: Annotated[list[str], NoDecode] = []  # for those checks: "ip" or "ip:port"; empty: resolv.conf
    smtp_tls_cert: str | None = None
    smtp_tls_key: str | None = None
    mail_domains: Annotated[list[str], NoDecode] = []
    # authserv-ids of the council's own mail gateway, whose Authentication-Results (RFC 8601) are believed
    trusted_authserv_ids: Annotated[list[str], NoDecode] = []
    landlord_email: str = "housing@example.org"
    outbound_smtp_url: str | None = None
    outbound_smtp_allow_plain_auth: bool = False  # only for a relay on a trusted network that cannot do TLS
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    public_url: str = ""  # how residents reach the web chat, e.g. https://housing.example.org (https: secure cookies)
    # Console sign-in and web chat tokens (wrong passwords are throttled in the database, per name and
    # per client address: workflow/console/signin.py).
    console_idle_minutes: int = 30  # a session unused this long ends; each page extends it (never past 10 h)
    # Password checks at once per web process: argon2 takes 64 MiB and most of a core for each; a
    # sign-in that finds no turn free within 2 s is answered 503 with Retry-After.
    console_hash_concurrency: int = 2
    # Signs the chat's visitor and form tokens. Unset: made on first start in TRIAGE_DATA_DIR/webchat.key
    # (mode 0600) and shared by every process on that directory; set it (32+ characters) when web
    # processes do not share one. A new secret starts every visitor's chat page afresh.
    chat_secret: SecretStr | None = None
    nation: Nation = Nation.ENGLAND
    imap_urls: Annotated[list[str], NoDecode] = []
    imap_password: str | None = None
    imap_oauth2_token: str | None = None
    imap_processed_folder: str | None = None
    imap_ca_file: str | None = None  # PEM file of a private CA that signed the IMAP server's certificate
    telegram_token: str | None = None
    telegram_base_url: str | None = None
    telegram_webhook_url: str | None = None  # e.g. https://housing.example.org/telegram/webhook; unset: long polling
    telegram_webhook_secret: str | None = None  # required with the webhook: Telegram sends it on every call
    # Text messages through GOV.UK Notify: all four are needed; with them the web role answers Notify's callbacks
    notify_api_key: SecretStr | None = None  # from Notify's API integration page: name-<service id>-<secret>
    notify_sms_template_id: str | None = None  # a text message template whose whole content is ((body))
    notify_callback_token: SecretStr | None = None  # the bearer token set for both callbacks in Notify
    notify_base_url: str = "https://api.notifications.service.gov.uk"  # a local stand-in's, in tests
    notify_sms_sender_id: str | None = None  # one of the service's text senders, when not its default

    landlord_name: str = "Example Housing"
    landlord_phone: str = "0300 000 0000"
    landlord_address: str = "Civic Offices, High Street, Example Town, EX1 1AA"
    landlord_website: str = "https://www.example.org/housing"
    ombudsman_name: str = "Housing Ombudsman Service"
    ombudsman_phone: str = "0300 111 3000"
    ombudsman_email: str = "info@housing-ombudsman.org.uk"
    ombudsman_website: str = "https://www.housing-ombudsman.org.uk"
    ombudsman_address: str = "PO Box 1484, Unit D, Preston, PR2 0ET"
    homes_owned: int = 0
    retention_years: int = 6  # personal data is purged this many years after a case ends (`triage purge`)
    acknowledge_hour: int = 15  # London hour on the last day when an unacknowledged complaint is acknowledged
    remind_working_days: int = 2  # reminders to the handler this many working days before a deadline
    closure_days: str = ""
    teams: dict[str, str] = {}
    training_data_dir: Path = Path(__file__).resolve().parents[1] / "training_data"
    api_docs: bool = False  # serve /openapi.json and /docs (the list of every route) for developers
    encoder_file: Path | None = None  # another copy of the pinned ONNX sentence encoder (default: the committed file)
    # Automatic replies (workflow/reply_limits.py): by mailbox with plus-tags and case folded, by email domain,
    # the same letter on the same case once a window (RFC 3834), and a thread with more letters an hour is a loop.
    replies_per_minute: int = 6
    replies_per_hour: int = 20
    replies_per_domain_hour: int = 1000
    same_letter_hours: float = 24.0
    loop_letters: int = 5

    @field_validator("mail_domains", "imap_urls", "trusted_authserv_ids", "dns_servers", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split(value)

    @field_validator("closure_days")
    @classmethod
    def _valid_closure_days(cls, value: str) -> str:
        parse_closure_days(value)
        return value

    @field_validator("teams")
    @classmethod
    def _known_themes(cls, value: dict[str, str]) -> dict[str, str]:
        team_map(value)
        return value

    @field_validator("acknowledge_hour")
    @classmethod
    def _an_hour(cls, value: int) -> int:
        if not 0 <= value <= 23:
            raise ValueError("the acknowledgement hour is 0 to 23 (London time)")
        return value

    @field_validator("homes_owned")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("homes owned cannot be negative")
        return value

    @field_validator("sqlite_busy_seconds")
    @classmethod
    def _positive_wait(cls, value: float) -> float:
        if not 0 < value <= 600:
            raise ValueError("the SQLite busy timeout is more than 0 and at most 600 seconds")
        return value

    @field_validator("retention_years")
    @classmethod
    def _sensible_retention(cls, value: int) -> int:
        if not 1 <= value <= 100:
            raise ValueError("the retention period is 1 to 100 years")
        return value

    @field_validator("console_idle_minutes")
    @classmethod
    def _idle_within_a_session(cls, value: int) -> int:
        if not 1 <= value <= 600:
            raise ValueError("the console's idle time is 1 to 600 minutes (a session lasts at most 10 hours)")
        return value

    @field_validator("console_hash_concurrency")
    @classmethod
    def _some_checks(cls, value: int) -> int:
        if not 1 <= value <= 32:
            raise ValueError("password checks at once are 1 to 32 (each takes 64 MiB)")
        return value

    @field_validator("chat_secret")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < 32:
            raise ValueError("the chat secret is at least 32 characters (e.g. `openssl rand -base64 33`)")
        return value

    @model_validator(mode="after")
    def _webhook_has_secret(self) -> Settings:
        if self.telegram_webhook_url and not (self.telegram_webhook_secret or "").strip():
            raise ValueError("TRIAGE_TELEGRAM_WEBHOOK_SECRET is required with TRIAGE_TELEGRAM_WEBHOOK_URL")
        return self

    @model_validator(mode="after")
    def _notify_whole(self) -> Settings:
        given = {"TRIAGE_NOTIFY_API_KEY": self.notify_api_key, "TRIAGE_NOTIFY_SMS_TEMPLATE_ID": self.notify_sms_template_id,
                 "TRIAGE_NOTIFY_CALLBACK_TOKEN": self.notify_callback_token}
        missing = [name for name, value in given.items() if not value]
        if 0 < len(missing) < len(given):
            raise ValueError(f"text messages need {', '.join(missing)} as well as the other Notify settings")
        if self.notify_callback_token is not None and len(self.notify_callback_token.get_secret_value()) < 10:
            raise ValueError("TRIAGE_NOTIFY_CALLBACK_TOKEN is at least 10 characters, as Notify requires")
        if self.notify_api_key is not None and len(self.notify_api_key.get_secret_value().strip()) < 74:
            raise ValueError("TRIAGE_NOTIFY_API_KEY is the whole key Notify gave: name-<service id>-<secret>")
        return self

    @field_validator("replies_per_minute", "replies_per_hour", "replies_per_domain_hour", "loop_letters",
                     "smtp_max_connections", "smtp_max_connections_per_client", "smtp_max_recipients",
                     "smtp_large_at_once")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("a limit is at least 1 (0 would refuse everyone)")
        return value

    def reply_limits(self) -> ReplyLimits:
        return ReplyLimits(per_minute=self.replies_per_minute, per_hour=self.replies_per_hour,
                           per_domain_hour=self.replies_per_domain_hour,
                           same_letter=dt.timedelta(hours=self.same_letter_hours),
                           loop_letters=self.loop_letters)

    @property
    def first_hop_authserv_id(self) -> str | None:
        """The name the SMTP server signs its own sender checks with, when it is the first hop; None
        behind a gateway (bot/channels.py builds the checks)."""
        if not self.smtp_first_hop:
            return None
        return self.smtp_authserv_id or f"triage.{self.accepted_mail_domains[0].rsplit('@', 1)[-1]}"

    @property
    def believed_authserv_ids(self) -> list[str]:
        """Whose Authentication-Results are read: the council's gateways, and this server when it checks itself."""
        own = self.first_hop_authserv_id
        return [*self.trusted_authserv_ids, *([own] if own else [])]

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return sqlite_url(self.data_dir)

    @property
    def accepted_mail_domains(self) -> list[str]:
        """Recipient domains or addresses accepted by the SMTP server; never an open relay."""
        return [d.lower() for d in self.mail_domains] or [self.landlord_email.rsplit("@", 1)[-1].lower()]

    @cached_property
    def closure_dates(self) -> frozenset[dt.date]:
        return parse_closure_days(self.closure_days)

    @property
    def model_path(self) -> Path:
        return self.data_dir / "model" / "triage.skops"

    def team_for(self, theme: str) -> str:
        return team_map(self.teams).get(theme, team_map()["other"])

    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(self.nation, self.closure_dates)

    def letterhead(self) -> Letterhead:
        return Letterhead(
            landlord_name=self.landlord_name, landlord_phone=self.landlord_phone, landlord_email=self.landlord_email,
            landlord_website=self.landlord_website, landlord_address=self.landlord_address,
            ombudsman_name=self.ombudsman_name, ombudsman_phone=self.ombudsman_phone,
            ombudsman_email=self.ombudsman_email, ombudsman_website=self.ombudsman_website,
            ombudsman_address=self.ombudsman_address,
        )

    def ombudsman_details(self) -> str:
        return self.letterhead().ombudsman_details()
