"""What `triage run` starts, role by role, so the roles can be split across processes and machines
that share one PostgreSQL database.

smtp: the inbound SMTP server. imap: the IMAP pollers. telegram: Telegram long polling (with a
webhook, the web role receives updates). web: the console, the web chat and the health check.
worker: the conversation (handling stored messages); several workers may run at once on
PostgreSQL, because a message is locked while it is handled. outbox: delivering queued replies
and letters; several may run, because outbox items are claimed with a lease (and SKIP LOCKED on
PostgreSQL). A reply is queued in the same transaction as the change that caused it, so the
outbox may run anywhere: beside the worker, beside the SMTP server, or on the host that can
reach the council's mail relay. scheduler: acknowledgements, reminders, alerts and hazard
clocks; run exactly one.

On SQLite each role runs in at most one process per data directory: two `triage run` on one
directory gave 124 of 200 messages two cases and two replies. Each role takes an exclusive lock
on DATA_DIR/locks/<role>.lock as it starts; a second process asking for a role already taken
stops with RoleTaken (one line, exit 1). The locks go with the process, however it ends.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from bot import channels, memory
from bot.context import Context
from bot.inbound import ContextStore
from bot.service import Service

log = logging.getLogger(__name__)
ROLES = (*channels.ROLES, "web", "worker", "outbox", "scheduler")  # the channels' own roles first, from the registry


def parse_roles(text: str = "") -> frozenset[str]:
    """'smtp,web' -> {'smtp', 'web'}; "" -> every role; an unknown list is an error a person can act on."""
    roles = frozenset(part.strip().lower() for part in text.split(",") if part.strip()) or frozenset(ROLES)
    unknown = sorted(roles - set(ROLES))
    if unknown:
        raise ValueError(f"unknown role {', '.join(unknown)}; choose from {', '.join(ROLES)}")
    return roles


class RoleTaken(RuntimeError):
    """Another process on this SQLite data directory already runs a role asked for."""


class PortTaken(RuntimeError):
    """A port this process is to listen on is another program's: said in one line, before the model is built."""


def check_ports(context: Context, roles: frozenset[str]) -> None:
    """Fail fast and plainly: a busy port used to end in a 71-line traceback, after the model build."""
    settings = context.settings
    wanted = [(settings.smtp_host, settings.smtp_port, "TRIAGE_SMTP_PORT", "smtp"),
              (settings.web_host, settings.web_port, "TRIAGE_WEB_PORT", "web")]
    for host, port, setting, role in wanted:
        if role not in roles:
            continue
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is not "in use"
            try:
                probe.bind((host, port))
            except OSError as error:
                raise PortTaken(f"{host}:{port} cannot be used ({error.strerror or error}): another program may have "
                                f"it; stop that program, or set {setting} to a free port") from None


def take_roles(context: Context, roles: frozenset[str]) -> list[int]:
    """Exclusive locks on this data directory for each role (SQLite only); the open descriptors."""
    if context.engine.dialect.name != "sqlite":
        return []
    folder = context.settings.data_dir / "locks"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    held: list[int] = []
    for role in sorted(roles):
        descriptor = os.open(folder / f"{role}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            for other in held:
                os.close(other)
            raise RoleTaken(f"another triage process already runs the {role} role on {context.settings.data_dir}; "
                            f"stop it, or give this one other roles with --only") from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        held.append(descriptor)
    return held


@dataclass
class Running:
    """The pieces one process started; stop() ends them in reverse order."""

    roles: frozenset[str]
    service: Service | None = None
    stops: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        for stop in reversed(self.stops):
            try:
                stop()
            except Exception:  # noqa: BLE001 - stopping the rest matters more than one failure
                log.exception("stopping a part of triage run failed")


def start(context: Context, roles: frozenset[str], stop: threading.Event | None = None) -> Running:
    """Start every role in `roles` except web, which the caller serves in the foreground."""
    from bot.models import ensure_model

    running = Running(roles)
    held = take_roles(context, roles)

    def release() -> None:
        for descriptor in held:
            os.close(descriptor)

    running.stops.append(release)
    loops = {loop for role, loop in (("worker", "conversation"), ("outbox", "outbox"), ("scheduler", "scheduler"))
             if role in roles}
    if loops:
        model = ensure_model(context, stop) if "worker" in roles else None
        if model is not None:
            model.prepare()
            memory.trim()  # the encoder's load leaves ~70 MB of freed scratch, the detector's ~50 MB
            log.info("model %s ready", model.version)
        running.service = Service(context, model, loops=loops)
        running.service.start()
        running.stops.append(running.service.stop)
    store = ContextStore(context)
    for role in channels.ROLES:
        if role in roles:
            for listener in channels.listeners(context, role, store):
                listener.start()
                running.stops.append(listener.stop)
                log.info("%s role: started the %s", role, listener)
    log.info("running: %s", ", ".join(r for r in ROLES if r in roles))
    return running
