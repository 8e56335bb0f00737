"""The `triage` command line (DESIGN.md's contract: other tools rely on these exact forms)."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from bot import assessment_cli
from bot.context import Context
from bot.settings import Settings
from workflow.calendar import Nation, WorkingCalendar
from workflow.errors import DomainError
from workflow.inbox import REUSED_ID
from workflow.models import Message, utcnow

app = typer.Typer(help="Intake triage for social housing landlords: complaints, requests and the Code's clocks.",
                  no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
users_app = typer.Typer(help="Console users.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
assessment_cli.register(app)

log = logging.getLogger("triage")


@app.callback()
def _owner_only() -> None:
    # Everything the product writes (the database, mail, attachments, letters' copies, the model,
    # the chat's secret) holds residents' data or a key to it: files and folders it creates are for
    # the user it runs as alone, whatever umask the shell or the service manager left.
    os.umask(0o077)


def _context() -> Context:
    return Context(Settings())


def _model(context: Context):  # noqa: ANN202 (TriageModel, imported late: the model is heavy to import)
    """The ready model, or one line and exit 2 when the sentence encoder's file is not the pinned one."""
    from bot.models import ensure_model
    from classifier.encoder import EncoderMismatch

    try:
        return ensure_model(context)
    except EncoderMismatch as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


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


FIRST_USER = ".venv/bin/triage users add YOUR-NAME --role admin"


def _fail(error: Exception) -> typer.Exit:
    """A refused argument: one line on stderr and exit status 2 (the caller raises what this returns)."""
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(2)


def _new_password() -> str:
    """Asked twice, without echo, only once every other argument has been checked."""
    from workflow.users import check_password

    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_password(password)
    except DomainError as error:
        raise _fail(error) from None
    return password


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[str, typer.Option(help="advisor, supervisor or admin")],
    email: Annotated[str | None, typer.Option(help="where reminders and overdue alerts are sent")] = None,
    team: Annotated[str | None, typer.Option(help="their team, as TRIAGE_TEAMS names it: for \"my team\" and "
                                                  "the team's supervisors")] = None,
) -> None:
    """Add a console user; asks for the password (at least 12 characters)."""
    from workflow.reports import teams_of
    from workflow.users import add_user, check_name_free, new_user

    settings = Settings()
    teams = teams_of(settings.team_for)
    try:
        fields = new_user(name, role, email, team, teams)  # a mistyped role is told before the password is asked
    except DomainError as error:
        raise _fail(error) from None
    context = Context(settings)
    context.migrate()
    try:
        with context.sessions() as session:
            check_name_free(session, fields.username)
        password = _new_password()
        with context.sessions.begin() as session:
            user = add_user(session, fields.username, fields.role, password, utcnow(), actor="cli",
                            email=fields.email, team=fields.team, teams=teams)
            typer.echo(f"added {user.username} ({user.role})")
    except DomainError as error:
        raise _fail(error) from None


@users_app.command("list")
def users_list(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per user")] = False,
) -> None:
    """Every console user: name, role, team, email, and whether they can sign in (never a password)."""
    from workflow.users import all_users

    context = _context()
    context.migrate()
    with context.sessions() as session:
        rows = [{"name": u.username, "role": u.role, "team": u.team, "email": u.email, "active": u.active}
                for u in all_users(session)]
    if as_json:
        for row in rows:
            _print_json(row)
        return
    if not rows:
        typer.echo(f"no console users yet; create the first (it asks for a password): {FIRST_USER}")
        return
    table = [("name", "role", "team", "email", "active")] + [
        (str(r["name"]), str(r["role"]), str(r["team"] or "-"), str(r["email"] or "-"),
         "yes" if r["active"] else "no (removed)") for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4])


@users_app.command("remove")
def users_remove(name: str) -> None:
    """Stop a user signing in, and end their console sessions now.

    The user is marked inactive rather than deleted: the cases, stages and reviews they worked on
    and the audit trail keep their name."""
    from workflow.users import remove_user

    context = _context()
    context.migrate()
    try:
        with context.sessions.begin() as session:
            ended = remove_user(session, name, utcnow(), actor="cli")
    except DomainError as error:
        raise _fail(error) from None
    typer.echo(f"removed {name.strip()}: they can no longer sign in ({_sessions(ended)} ended); their name stays "
               "on the cases and records they worked on")


@users_app.command("reset-password")
def users_reset_password(name: str) -> None:
    """Give a user a new password (asked twice, at least 12 characters); their console sessions end."""
    from workflow.users import active_user, set_password

    context = _context()
    context.migrate()
    try:
        with context.sessions() as session:
            active_user(session, name)  # an unknown name is told before the password is asked
        password = _new_password()
        with context.sessions.begin() as session:
            ended = set_password(session, name, password, utcnow(), actor="cli")
    except DomainError as error:
        raise _fail(error) from None
    typer.echo(f"password changed for {name.strip()} ({_sessions(ended)} ended: they sign in again)")


def _sessions(n: int) -> str:
    return f"{n} console session{'' if n == 1 else 's'}"


@app.command("import")
def import_command(
    paths: Annotated[list[Path], typer.Argument(exists=True, help="mail files, folders of them (every file, "
                                                                  "whatever its name), mbox files, Maildirs")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per message, then the counts")] = False,
    answer: Annotated[bool, typer.Option("--answer", help="answer the senders as if the mail had just arrived")] = False,
) -> None:
    """Read mail exported from another system through the same path as mail arriving by SMTP.

    Imported mail is classified and put on cases, but nobody is written to unless --answer is
    given: an archive from another system must not send residents replies to old letters. Every
    file that is not mail is listed as rejected with the reason; a letter whose Message-ID another
    letter already used is stored, and marked "reused_id".
    """
    from bot.inbound import store_message
    from intake.email.files import read_mail_files
    from intake.email.parse import parse

    context = _context()
    context.migrate()
    counts = {"stored": 0, "duplicate": 0, "rejected": 0, "failed": 0}
    for mail in read_mail_files(paths):
        row: dict[str, object] = {"source": mail.source}
        if mail.problem:
            row |= {"status": "rejected", "reason": mail.problem}
        elif len(mail.raw) > context.settings.smtp_max_bytes:
            row |= {"status": "rejected", "reason": f"larger than {context.settings.smtp_max_bytes} bytes"}
        else:
            message = parse(mail.raw)
            row |= {"external_id": message.external_id, "automatic": message.automatic}
            try:
                message_id, created = store_message(context, message, quiet=not answer)
            except Exception as error:  # noqa: BLE001 - one bad message never stops the rest
                row |= {"status": "failed", "reason": type(error).__name__}
            else:
                row |= {"status": "stored" if created else "duplicate", "message_id": message_id}
                if created and _reused_id(context, message_id):
                    row["reused_id"] = True
        counts[str(row["status"])] += 1
        if as_json:
            _print_json(row)
    if as_json:
        _print_json(counts)
    else:
        typer.echo(", ".join(f"{n} {k}" for k, n in counts.items()))
    if counts["failed"]:
        raise typer.Exit(1)


def _reused_id(context: Context, message_id: int) -> bool:
    with context.sessions() as session:
        return REUSED_ID in session.get_one(Message, message_id).defects


def _say_where(context: Context, roles: frozenset[str]) -> None:
    """Once serving: where the console, the chat and the mail are, and the first user's command if none exists yet."""
    settings = context.settings
    web = f"http://{settings.web_host}:{settings.web_port}"
    typer.echo(f"Ready. Console: {web}/console/   Web chat: {web}/chat")
    if "smtp" in roles:
        typer.echo(f"Mail for {', '.join(settings.accepted_mail_domains)}: SMTP on "
                   f"{settings.smtp_host}:{settings.smtp_port}")
    if not _anyone_can_sign_in(context):
        typer.echo(f"No console user yet. Create the first one (it asks for a password): {FIRST_USER}")


def _users_known(context: Context) -> bool | None:
    """Whether anyone can sign in, or None when this directory has no database to ask: a demo run
    from another folder must not leave an empty database there."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    url = make_url(context.settings.resolved_database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        return None
    try:
        return _anyone_can_sign_in(context)
    except SQLAlchemyError:
        return None


def _anyone_can_sign_in(context: Context) -> bool:
    from workflow.users import anyone_can_sign_in

    with context.sessions() as session:
        return anyone_can_sign_in(session)


@app.command()
def run(
    only: Annotated[str, typer.Option("--only", help="comma-separated roles to run in this process, e.g. "
                                                     "smtp,web; the README lists them (default: every role)")] = "",
) -> None:
    """Start the product on the configured settings (embedded defaults: SQLite under ./data)."""
    import signal
    import threading

    import uvicorn

    from bot import memory, runner
    from bot.retraining import Retrainer
    from bot.web import WithoutQuery, create_app

    try:
        roles = runner.parse_roles(only)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    memory.settle()
    context = _context()
    try:
        runner.check_ports(context, roles)  # before anything else is said or built
    except runner.PortTaken as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command with addresses
    context.migrate()
    log.info("database ready (%s)", context.engine.dialect.name)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # uvicorn hands its signal back to this handler when done
        signal.signal(signum, lambda *_: stopping.set())
    from bot.models import ModelBuildFailed, Stopped
    from classifier.encoder import EncoderMismatch

    try:
        running = runner.start(context, roles, stopping)
    except Stopped as error:
        log.info("%s", error)
        raise typer.Exit(0) from None
    except EncoderMismatch as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    except (runner.RoleTaken, ModelBuildFailed) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    try:
        if stopping.is_set():  # asked to stop while starting: uvicorn would install its own handlers
            return
        if "web" in roles:
            service = running.service
            on_accept = service.use_model if service is not None and service.conversation is not None else None
            app = create_app(context, Retrainer(context, on_accept=on_accept))
            logging.getLogger("uvicorn.access").addFilter(WithoutQuery())

            class Announcing(uvicorn.Server):
                """Says where everything is once it really is serving, not before."""

                async def startup(self, sockets: list | None = None) -> None:  # type: ignore[type-arg]
                    await super().startup(sockets)
                    if self.started:
                        _say_where(context, roles)

            Announcing(uvicorn.Config(app, host=context.settings.web_host, port=context.settings.web_port)).run()
        else:
            stopping.wait()
    finally:
        running.stop()
    log.info("stopped")


@app.command()
def demo() -> None:
    """Send about 30 example messages through the running product: email by SMTP, chat over HTTP."""
    from bot import demo as examples

    context = _context()
    settings = context.settings
    web_url = f"http://{settings.web_host}:{settings.web_port}"
    try:
        counts = examples.run(settings.smtp_host, settings.smtp_port, settings.landlord_email, web_url)
    except OSError as error:
        typer.echo(f"error: cannot reach the running product ({error}); start it first with `make run`", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"sent {counts['emails']} emails to {settings.smtp_host}:{settings.smtp_port} and "
               f"{counts['chats']} chat messages to {web_url}/chat; the bot answers them within a minute.")
    for line in _where_to_look(context, web_url):
        typer.echo(line)


def _where_to_look(context: Context, web_url: str) -> list[str]:
    """What a newcomer opens after the demo: without this they had the folder of replies and
    nothing to say that the queue needs a user, or how to make one."""
    from urllib.parse import urlsplit

    settings = context.settings
    if settings.outbound_smtp_url:
        relay = urlsplit(settings.outbound_smtp_url)  # host and port only: the URL may hold the relay's password
        replies = f"sent through the outbound SMTP server {relay.hostname}" + (f":{relay.port}" if relay.port else "")
    else:
        replies = (f"{(settings.data_dir / 'outgoing').resolve()}/, one .eml file each, "
                   "named by time (UTC) and case reference")
    advisor = ".venv/bin/triage users add YOUR-NAME --role advisor"
    known = _users_known(context)
    if known:
        sign_in = f"Sign in to the console as an advisor (or a supervisor or admin); to add an advisor: {advisor}"
    elif known is None:
        sign_in = f"The console needs a user to sign in; to create an advisor (it asks for a password): {advisor}"
    else:
        sign_in = (f"No console user yet: the queue needs one to sign in. Create an advisor (it asks for a "
                   f"password): {advisor}")
    return ["Where to look:",
            f"  the queue of cases:  {web_url}/console/",
            f"  the web chat:        {web_url}/chat",
            f"  the replies:         {replies}",
            sign_in]


@app.command()
def tick(
    now: Annotated[str | None, typer.Option("--now", help="ISO date-time to act as the current time")] = None,
) -> None:
    """One pass of the scheduled work: handle stored messages, acknowledgements, reminders and alerts due,
    hazard clocks, then deliver the outbox."""
    from bot import runner
    from bot.service import tick as one_pass

    context = _context()
    if now is not None:
        moment = _moment(now)
        context.now = lambda: moment
    context.migrate()
    try:  # the work of the worker, scheduler and outbox roles: not beside a `triage run` doing it on SQLite
        runner.take_roles(context, frozenset({"worker", "scheduler", "outbox"}))
    except runner.RoleTaken as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    _print_json(one_pass(context, _model(context)))


def _moment(now: str) -> dt.datetime:
    """--now as an aware datetime, or a clear error and exit status 2."""
    try:
        moment = dt.datetime.fromisoformat(now)
    except ValueError:
        typer.echo(f"error: --now {now!r} is not an ISO date-time such as 2026-11-23T09:00:00+00:00", err=True)
        raise typer.Exit(2) from None
    if moment.tzinfo is None:
        typer.echo("error: --now needs a time zone, such as +00:00 or Z", err=True)
        raise typer.Exit(2)
    return moment


def _print_json(value: object) -> None:
    import json

    typer.echo(json.dumps(value, ensure_ascii=False, indent=None))


@app.command("train")
def train_command(
    with_reviews: Annotated[bool, typer.Option("--with-reviews", help="add advisors' confirmed labels")] = False,
    cross_validate: Annotated[bool, typer.Option("--cross-validate",
                                                 help="also report 5-fold grouped cross-validation (slower)")] = False,
) -> None:
    """Build the model from training_data/ (deterministic: the same data gives the same file)."""
    from bot.models import build
    from classifier import training

    from classifier.encoder import EncoderMismatch

    logging.basicConfig(level=logging.WARNING)
    context = _context()
    try:
        summary = build(context, with_reviews=with_reviews)
    except EncoderMismatch as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    if cross_validate:
        summary["cross_validation"] = training.cross_validate(training.training_examples(
            context.settings.training_data_dir))
    _print_json(summary)


@app.command()
def classify(
    text: Annotated[str, typer.Argument(help="the message; '-' reads it from standard input")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """Suggest kind, theme and flags for one message."""
    import sys

    from classifier.text import EmptyMessage

    context = _context()
    model = _model(context)
    if text == "-":
        text = sys.stdin.read()
    try:
        suggestion = model.suggest(text)
    except EmptyMessage as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    result = suggestion.to_dict() | {"team": context.settings.team_for(suggestion.theme)}
    if as_json:
        _print_json(result)
        return
    flags = ", ".join(f"{k}={v}" for k, v in result["flags"].items())
    typer.echo(f"{result['kind']} ({result['kind_scores'][result['kind']]:.0%}), theme {result['theme']} "
               f"-> {result['team']}; offer the choice: {'yes' if result['offer_choice'] else 'no'}; {flags}")
    for name, words in result["cues"].items():
        typer.echo(f"  {name}: {', '.join(words)}")


@app.command("eval")
def eval_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines: text, kind, theme")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """Measure the current model on labelled messages."""
    from classifier.data import BadExample, read_jsonl
    from classifier.training import evaluate

    try:
        examples = read_jsonl(file)
    except BadExample as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    if not examples:
        typer.echo(f"error: {file} holds no examples", err=True)
        raise typer.Exit(2)
    result = evaluate(_model(_context()), examples)
    if as_json:
        _print_json(result)
        return
    typer.echo(f"n={result['n']} kind macro-F1 {result['kind']['macro_f1']} theme accuracy {result['theme']['accuracy']} "
               f"complaint recall at offer {result['complaint_recall_at_offer']} "
               f"offer rate to non-complaints {result['offer_rate_non_complaint']}")


@app.command("report")
def report_command(
    start: Annotated[dt.datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="first day (London date)")],
    end: Annotated[dt.datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="last day, included")],
    as_json: Annotated[bool, typer.Option("--json", help="every figure as one JSON object")] = False,
    as_html: Annotated[bool, typer.Option("--html", help="a printable document with tables and charts")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="one figure a row: table, row, value")] = False,
) -> None:
    """The Code 8.1 / 9.7 figures for a period: CH01, CH02, volumes, outcomes, refusals, requests, agreement."""
    from workflow import report_formats
    from workflow.reports import Period, build_report, teams_of

    if as_json + as_html + as_csv > 1:
        typer.echo("error: choose one of --json, --html and --csv", err=True)
        raise typer.Exit(2)
    try:
        period = Period(start.date(), end.date())
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    context = _context()
    context.migrate()
    settings = context.settings
    with context.sessions() as session:
        figures = build_report(session, period, context.calendar, homes_owned=settings.homes_owned,
                               landlord=settings.landlord_name, teams=teams_of(settings.team_for))
    if as_json:
        _print_json(figures)
    elif as_html:
        typer.echo(report_formats.to_html(figures))
    elif as_csv:
        typer.echo(report_formats.to_csv(figures), nl=False)
    else:
        typer.echo(report_formats.to_text(figures))


@app.command()
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count what would be removed; change nothing")] = False,
    now: Annotated[str | None, typer.Option("--now", help="ISO date-time to act as the current time")] = None,
) -> None:
    """Remove personal data from cases that ended more than TRIAGE_RETENTION_YEARS ago; report figures stay."""
    from bot import channels
    from workflow import retention
    from workflow.calendar import london_date

    context = _context()
    moment = utcnow() if now is None else _moment(now)
    context.migrate()
    before = retention.cutoff(london_date(moment), context.settings.retention_years)
    with context.sessions() as session:
        result = retention.purge(session, before, moment)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    files = 0 if dry_run else retention.remove_files(context.settings.data_dir / "attachments", result.files)
    sent = 0 if dry_run else sum(channel.forget(result.sent) for channel in channels.configured(context))
    _print_json({"ended_before": before.isoformat(), "dry_run": dry_run, **result.counts(), "files_removed": files,
                 "outgoing_removed": sent})


@app.command("export-resident")
def export_resident(
    address: Annotated[str, typer.Argument(help="the resident's email address, phone number, or Telegram or web "
                                                "chat id")],
) -> None:
    """Everything held about a resident, as JSON, for a subject access request."""
    import json

    from bot import channels
    from workflow.subject_access import export, find_residents

    context = _context()
    context.migrate()
    with context.sessions() as session:
        found = {r.id: r for each in channels.addresses(context, address) for r in find_residents(session, each)}
        residents = [found[key] for key in sorted(found)]
        if not residents:
            typer.echo(f"error: no resident has the contact address {address!r}", err=True)
            raise typer.Exit(1)
        exported = [export(session, resident, utcnow()) for resident in residents]
    typer.echo(json.dumps(exported if len(exported) > 1 else exported[0], ensure_ascii=False, indent=1))
