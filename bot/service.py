"""The background work of `triage run`, and the same work done once by `triage tick`.

Three loops: the conversation handles stored messages (woken as soon as one is stored, and every
few seconds anyway so nothing waits on a lost wake-up); the scheduler does what the calendar
makes due, every minute; the outbox worker delivers what both queued. Each loop survives its
own errors: a failure is logged and the loop goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bot.context import Context
from bot.conversation import Conversation
from bot.delivery import senders
from bot.inbound import complete
from classifier.model import TriageModel
from workflow import outbox
from workflow.outbox import Send
from workflow.scheduler import Scheduler, Timing

log = logging.getLogger(__name__)
BATCH = 100


def conversation(context: Context, model: TriageModel) -> Conversation:
    return Conversation(context.sessions, model, context.calendar, context.letters, context.settings.team_for,
                        context.now, lambda session, message: complete(context, session, message))


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
    def __init__(self, context: Context, model: TriageModel, channel_senders: dict[str, Send] | None = None,
                 interval: float = 2.0, schedule_interval: float = 60.0) -> None:
        self.context = context
        self.conversation = conversation(context, model)
        self.senders = channel_senders if channel_senders is not None else senders(context)
        self.interval = interval
        self.schedule_interval = schedule_interval
        self.stopping = threading.Event()
        self.queued = threading.Event()
        self.due = threading.Event()  # wakes the scheduler early (on stop)
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        self.threads = [
            threading.Thread(target=self._loop, args=("conversation", self._converse, self.context.wake),
                             name="conversation", daemon=True),
            threading.Thread(target=self._loop, args=("outbox", self._deliver, self.queued),
                             name="outbox", daemon=True),
            threading.Thread(target=self._loop, args=("scheduler", self._schedule, self.due,
                                                      self.schedule_interval), name="scheduler", daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self.context.wake.set()
        self.queued.set()
        self.due.set()
        for thread in self.threads:
            thread.join(timeout)

    def _converse(self) -> None:
        handled = self.conversation.handle_pending(limit=BATCH)
        if handled:
            self.queued.set()
        if handled >= BATCH:  # more are waiting: go straight on
            self.context.wake.set()

    def use_model(self, model: TriageModel) -> None:
        """Switch the conversation to a model a supervisor accepted; the next message uses it."""
        self.conversation.model = model

    def _schedule(self) -> None:
        if any(schedule(self.context).values()):
            self.queued.set()

    def _deliver(self) -> None:
        outbox.deliver_due(self.context.sessions, self.senders, self.context.now)

    def _loop(self, name: str, work: Callable[[], None], wake: threading.Event, interval: float | None = None
              ) -> None:
        while not self.stopping.is_set():
            wake.wait(interval or self.interval)
            wake.clear()
            if self.stopping.is_set():
                return
            try:
                work()
            except Exception:
                log.exception("%s pass failed; retrying", name)
