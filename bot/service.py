"""The background work of `triage run`, and the same work done once by `triage tick`.

Three loops: the conversation handles stored messages (woken as soon as one is stored in the
same process, within SOON after a pass that found work, and every few seconds anyway); the
scheduler does what the calendar makes due, every minute; the outbox delivers what both queued
(woken by them in the same process, and every few seconds anyway, until the queue is empty).
Each loop survives its own errors: a failure is logged and the loop goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from bot.context import Context
from bot.conversation import Conversation
from bot.channels import senders
from bot.inbound import complete
from bot.models import load_model
from classifier.model import TriageModel
from workflow import outbox
from workflow.outbox import Send
from workflow.scheduler import Scheduler, Timing

log = logging.getLogger(__name__)
BATCH = 100
SOON = 0.05  # seconds: a worker in a process of its own is not woken by the SMTP server's, so under load it looks again
LOOPS = frozenset({"conversation", "outbox", "scheduler"})


def conversation(context: Context, model: TriageModel) -> Conversation:
    return Conversation(context.sessions, model, context.calendar, context.letters, context.settings.team_for,
                        context.now, lambda session, message: complete(context, session, message),
                        limits=context.settings.reply_limits(),
                        trusted_authserv_ids=context.settings.believed_authserv_ids)


def schedule(context: Context) -> dict[str, int]:
    """Acknowledgements, reminders, alerts and hazard clocks due now."""
    timing = Timing(context.settings.acknowledge_hour, context.settings.remind_working_days)
    with context.sessions() as session:
        return Scheduler(session, context.calendar, context.letters, timing).run(context.now())


def tick(context: Context, model: TriageModel, channel_senders: dict[str, Send] | None = None) -> dict[str, int]:
    """One pass of everything due now; what `triage tick` runs."""
    handled = conversation(context, model).handle_pending()
    scheduled = schedule(context)
    sent = outbox.deliver_due(context.sessions, channel_senders or senders(context), context.now)
    return {"handled": handled, **scheduled, "sent": sent}


class Service:
    def __init__(self, context: Context, model: TriageModel | None, channel_senders: dict[str, Send] | None = None,
                 interval: float = 2.0, schedule_interval: float = 60.0, loops: Iterable[str] = LOOPS) -> None:
        self.context = context
        self.loops = frozenset(loops)
        if "conversation" in self.loops and model is None:
            raise ValueError("the conversation needs a model")
        self.conversation = conversation(context, model) if model is not None else None
        self.model_stamp = self._model_file_stamp()
        self.senders = channel_senders if channel_senders is not None else senders(context)
        self.interval = interval
        self.schedule_interval = schedule_interval
        self.stopping = threading.Event()
        self.queued = threading.Event()
        self.due = threading.Event()  # wakes the scheduler early (on stop)
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        loops = {
            "conversation": (self._converse, self.context.wake, None),
            "outbox": (self._deliver, self.queued, None),
            "scheduler": (self._schedule, self.due, self.schedule_interval),
        }
        self.threads = [threading.Thread(target=self._loop, args=(name, work, wake, interval), name=name, daemon=True)
                        for name, (work, wake, interval) in loops.items() if name in self.loops]
        for thread in self.threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self.context.wake.set()
        self.queued.set()
        self.due.set()
        for thread in self.threads:
            thread.join(timeout)

    def _converse(self) -> bool:
        assert self.conversation is not None
        self._reload_if_replaced()
        handled = self.conversation.handle_pending(limit=BATCH)
        if handled:
            self.queued.set()
        if handled >= BATCH:  # more are waiting: go straight on
            self.context.wake.set()
        return handled > 0

    def use_model(self, model: TriageModel) -> None:
        """Switch the conversation to a model a supervisor accepted; the next message uses it."""
        if self.conversation is not None:
            self.conversation.model = model
        self.model_stamp = self._model_file_stamp()

    def _model_file_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.context.settings.model_path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _reload_if_replaced(self) -> None:
        """A supervisor accepted a model in another process (the web role): load it from the file it
        was moved to, so every worker switches within one pass."""
        stamp = self._model_file_stamp()
        if stamp is None or stamp == self.model_stamp:
            return
        try:
            model = load_model(self.context.settings)
        except (ValueError, KeyError, OSError):
            log.exception("the model file changed but cannot be read; keeping the current model")
        else:
            log.info("switching to model %s from %s", model.version, self.context.settings.model_path)
            self.use_model(model)
        self.model_stamp = stamp

    def _schedule(self) -> None:
        if any(schedule(self.context).values()):
            self.queued.set()

    def _deliver(self) -> None:
        """Passes go on while they come back full, so a backlog is sent in one go instead of one
        pass a wake-up; an outbox in a process of its own wakes every interval and does the same."""
        if outbox.deliver_due(self.context.sessions, self.senders, self.context.now) >= outbox.PASS:
            self.queued.set()

    def _loop(self, name: str, work: Callable[[], bool | None], wake: threading.Event, interval: float | None = None
              ) -> None:
        """Run `work` when woken or every interval; after a pass that says it found work, within SOON."""
        found = False
        while not self.stopping.is_set():
            wake.wait(SOON if found else interval or self.interval)
            wake.clear()
            if self.stopping.is_set():
                return
            found = False
            try:
                found = bool(work())
            except Exception:
                log.exception("%s pass failed; retrying", name)
