"""The `triage` command line (DESIGN.md's contract: other tools rely on these exact forms)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated

import typer

from bot.context import Context
from bot.settings import Settings
from workflow.calendar import Nation, WorkingCalendar
from workflow.errors import DomainError
from workflow.models import utcnow

app = typer.Typer(help="Intake triage for social housing landlords: complaints, requests and the Code's clocks.",
                  no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
users_app = typer.Typer(help="Console users.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")

log = logging.getLogger("triage")


def _context() -> Context:
    return Context(Settings())


@app.command()
def workdays(
    date: Annotated[dt.datetime, typer.Argument(formats=["%Y-%m-%d"], help="the date the clock starts from")],
    n: Annotated[int, typer.Argument(min=1, help="how many working days after it")],
    nation: Annotated[Nation | None, typer.Option(help="bank holidays to skip (default: TRIAGE_NATION)")] = None,
) -> None:
    """Print the ISO date N working days after DATE (Code: the Nth working day strictly after it)."""
    settings = Settings()
    calendar = WorkingCalendar(nation or settings.nation, settings.closure_dates)
    typer.echo(calendar.add(date.date(), n).isoformat())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (also done on every `triage run`)."""
    context = _context()
    context.migrate()
    typer.echo(f"database at the latest schema ({context.engine.dialect.name})")


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[str, typer.Option(help="advisor, supervisor or admin")],
) -> None:
    """Add a console user; asks for the password (at least 12 characters)."""
    from workflow.users import add_user

    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    context = _context()
    context.migrate()
    try:
        with context.sessions.begin() as session:
            user = add_user(session, name, role, password, utcnow(), actor="cli")
            typer.echo(f"added {user.username} ({user.role})")
    except (DomainError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


@app.command()
def run() -> None:
    """Start the product on the configured settings (embedded defaults: SQLite under ./data)."""
    import uvicorn

    from bot.web import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    context = _context()
    context.migrate()
    log.info("database ready (%s)", context.engine.dialect.name)
    uvicorn.run(create_app(context), host=context.settings.web_host, port=context.settings.web_port)
