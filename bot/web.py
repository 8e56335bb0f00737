"""The web application that `triage run` serves: the console and web chat mount here."""

from __future__ import annotations

import datetime as dt
import html
import logging

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import text

from bot import channels
from bot.context import Context
from bot.retraining import Retrainer
from workflow.console import app as console_app
from workflow.console.page import Console


class WithoutQuery(logging.Filter):
    """Access-log lines without the query string: an advisor's search for a resident's name or
    address was written into every log line of the console's search page."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            path = record.args[2]
            if "?" in path:
                record.args = (*record.args[:2], path.split("?", 1)[0] + "?…", *record.args[3:])
        return True


def create_app(context: Context, retrainer: Retrainer | None = None) -> FastAPI:
    api_docs = context.settings.api_docs  # the route list is a map for an attacker: off unless asked for
    app = FastAPI(title=f"{context.settings.landlord_name} housing triage", docs_url="/docs" if api_docs else None,
                  redoc_url=None, openapi_url="/openapi.json" if api_docs else None)

    @app.get("/", response_class=HTMLResponse)
    def landing() -> HTMLResponse:
        """The address `triage run` is reached at answered {"detail":"Not Found"}; now it says where to go."""
        name = html.escape(context.settings.landlord_name)
        return HTMLResponse(
            f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{name} triage</title>"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head><body>"
            f"<h1>{name} housing triage</h1><ul><li><a href=\"/console/\">Staff console</a> (advisors, "
            f"handlers, supervisors)</li><li><a href=\"/chat\">Web chat</a> (residents)</li></ul></body></html>",
            headers={"Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff"})

    @app.get("/healthz")
    def health() -> JSONResponse:
        """For the reverse proxy and monitoring: 200 only when the database answers."""
        try:
            with context.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # noqa: BLE001 - any database failure means unhealthy
            return JSONResponse({"status": "unavailable", "database": type(error).__name__}, status_code=503)
        return JSONResponse({"status": "ok", "database": context.engine.dialect.name})

    for router in channels.routers(context):  # the web chat, and the channels' webhooks and callbacks
        app.include_router(router)
    console_app.install(app, Console(context.sessions, context.now, context.calendar, context.letters,
                                     context.settings.team_for, retrainer or Retrainer(context),
                                     secure_cookies=context.settings.public_url.startswith("https://"),
                                     homes_owned=context.settings.homes_owned, wake=context.wake.set,
                                     idle=dt.timedelta(minutes=context.settings.console_idle_minutes),
                                     password_checks=context.password_checks))
    return app
