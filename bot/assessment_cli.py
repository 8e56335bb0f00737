"""`triage self-assessment --year 2026 [--html|--json|--csv]`: the Code self-assessment from the record.

Kept apart from bot/cli.py and added to its app by `register`, so the command line's contract
stays in one place while this command's options live beside what they print.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from workflow.self_assessment import SelfAssessment


def register(app: typer.Typer) -> None:
    """Add the `self-assessment` command to the `triage` app."""

    @app.command("self-assessment")
    def self_assessment(
        year: Annotated[int, typer.Option("--year", min=2000, max=2099,
                                          help="the financial year starting 1 April of this year (2026: 2026/27)")],
        as_json: Annotated[bool, typer.Option("--json", help="every provision as one JSON object")] = False,
        as_html: Annotated[bool, typer.Option("--html", help="the printable form")] = False,
        as_csv: Annotated[bool, typer.Option("--csv", help="one provision a row")] = False,
    ) -> None:
        """Every provision of the Complaint Handling Code with its requirement, a suggested Yes / No and the
        evidence the record holds; policy and governance provisions are left for a person."""
        from bot.context import Context
        from bot.settings import Settings
        from workflow import self_assessment_formats as formats
        from workflow.calendar import london_date
        from workflow.self_assessment import build_self_assessment

        if as_json + as_html + as_csv > 1:
            typer.echo("error: choose one of --json, --html and --csv", err=True)
            raise typer.Exit(2)
        context = Context(Settings())
        context.migrate()
        with context.sessions() as session:
            assessment = build_self_assessment(session, year, context.calendar,
                                               landlord=context.settings.landlord_name,
                                               today=london_date(context.now()))
        if as_json:
            typer.echo(formats.to_json(assessment))
        elif as_html:
            typer.echo(formats.to_html(assessment))
        elif as_csv:
            typer.echo(formats.to_csv(assessment), nl=False)
        else:
            typer.echo(_text(assessment))


def _text(assessment: SelfAssessment) -> str:
    """A summary for the terminal: each provision's answer and first line of evidence."""
    summary = assessment.summary
    lines = [f"{assessment.landlord}: self-assessment {assessment.year}/{(assessment.year + 1) % 100:02d} "
             f"({summary['yes']} Yes, {summary['no']} No, {summary['undecided']} for a person to decide)"]
    for p in assessment.provisions:
        answer = p.comply or "-"
        cases = f" [{', '.join(item.reference for item in p.listed)}]" if p.listed else ""
        lines.append(f"{p.provision:>5}  {answer:<3}  {p.evidence[0] if p.evidence else ''}{cases}")
    return "\n".join(lines)
