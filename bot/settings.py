"""Settings from TRIAGE_* environment variables and .env (DESIGN.md's settings contract)."""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from workflow.calendar import Nation, WorkingCalendar, parse_closure_days
from workflow.db import sqlite_url
from workflow.letters import Letterhead
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
    smtp_tls_cert: str | None = None
    smtp_tls_key: str | None = None
    mail_domains: Annotated[list[str], NoDecode] = []
    landlord_email: str = "housing@example.org"
    outbound_smtp_url: str | None = None
    outbound_smtp_allow_plain_auth: bool = False  # only for a relay on a trusted network that cannot do TLS
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    public_url: str = ""  # how residents reach the web chat, e.g. https://housing.example.org (https: secure cookies)
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
    encoder_file: Path | None = None  # the pinned ONNX sentence encoder, where its package cannot be installed

    @field_validator("mail_domains", "imap_urls", mode="before")
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

    @model_validator(mode="after")
    def _webhook_has_secret(self) -> Settings:
        if self.telegram_webhook_url and not (self.telegram_webhook_secret or "").strip():
            raise ValueError("TRIAGE_TELEGRAM_WEBHOOK_SECRET is required with TRIAGE_TELEGRAM_WEBHOOK_URL")
        return self

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
