"""The real store with the database's failures played into it, for the channels' fault tests."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future

from sqlalchemy.exc import OperationalError

from intake.channel import Receipt, Store, Stored
from intake.message import InboundMessage


class Intercepted:
    """The real store, with the database refusing the first `refuse` commits (as SQLite does when
    locked), and `after` run once each message is stored."""

    def __init__(self, store: Store, refuse: int = 0, after: Callable[[], None] | None = None) -> None:
        self.store, self.refuse, self.after = store, refuse, after

    def submit(self, message: InboundMessage) -> Future[Stored]:
        if self.refuse:
            self.refuse -= 1
            refused: Future[Stored] = Future()
            refused.set_exception(OperationalError("INSERT INTO messages ...", {}, Exception("database is locked")))
            return refused
        stored = self.store.submit(message)
        stored.result()
        if self.after is not None:
            self.after()
        return stored

    def record_receipt(self, receipt: Receipt) -> None:
        self.store.record_receipt(receipt)
