"""Which team handles each theme: configuration, because every landlord names its teams differently."""

from __future__ import annotations

from collections.abc import Mapping

from workflow.vocabulary import Theme

DEFAULT_TEAMS: dict[str, str] = {
    Theme.REPAIRS: "Repairs and maintenance",
    Theme.DAMP_MOULD: "Repairs and maintenance",
    Theme.ASB: "Anti-social behaviour",
    Theme.TENANCY: "Tenancy services",
    Theme.RENT: "Rents and income",
    Theme.ALLOCATIONS: "Housing needs and allocations",
    Theme.COMMUNAL: "Communal areas and estates",
    Theme.LEASEHOLD: "Leasehold services",
    Theme.STAFF_CONDUCT: "Customer services",
    Theme.COMPLAINT_HANDLING: "Complaints",
    Theme.OTHER: "Customer services",
}


def team_map(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The default map with a landlord's overrides; an unknown theme in the overrides is an error."""
    merged = {str(k): v for k, v in DEFAULT_TEAMS.items()}
    for theme, team in (overrides or {}).items():
        Theme(theme)
        merged[theme] = team
    return merged
