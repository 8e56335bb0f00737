"""A local stand-in for Telegram's Bot API, served over HTTP on loopback.

The real python-telegram-bot client talks to it through its base_url setting, exactly as it
talks to Telegram: getMe, getUpdates with offsets and long polling, sendMessage with inline
keyboards, answerCallbackQuery. The test plays the resident by queuing updates and reads what
the bot sent. Updates stay queued until a getUpdates names a higher offset, as on Telegram.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from tests.servers import free_port

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Housing", "username": "housing_test_bot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}


class FakeTelegram:
    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.updates: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.confirmed_offset = 0
        self.update_ids = itertools.count(1000)
        self.message_ids = itertools.count(1)
        self.get_updates_calls = 0
        self.webhook: dict[str, Any] | None = None

    # -- the resident's side ----------------------------------------------------------------

    def say(self, chat_id: int, text: str, name: str = "Ann") -> None:
        person = {"id": chat_id, "is_bot": False, "first_name": name}
        self._queue({"message": {"message_id": next(self.message_ids), "date": int(time.time()),
                                 "chat": {"id": chat_id, "type": "private", "first_name": name},
                                 "from": person, "text": text}})

    def press(self, sent: dict[str, Any], data: str) -> None:
        chat_id = sent["chat"]["id"]
        self._queue({"callback_query": {"id": f"cbq-{next(self.message_ids)}", "chat_instance": "ci",
                                        "from": {"id": chat_id, "is_bot": False, "first_name": "Ann"},
                                        "message": sent, "data": data}})

    def _queue(self, body: dict[str, Any]) -> None:
        with self.lock:
            self.updates.append(self.update(body))
            self.lock.notify_all()

    def update(self, body: dict[str, Any]) -> dict[str, Any]:
        """An update as Telegram would send it, by long polling or to a webhook."""
        return {"update_id": next(self.update_ids), **body}

    def message_update(self, chat_id: int, text: str) -> dict[str, Any]:
        person = {"id": chat_id, "is_bot": False, "first_name": "Ann"}
        return self.update({"message": {"message_id": next(self.message_ids), "date": int(time.time()),
                                        "chat": {"id": chat_id, "type": "private"}, "from": person, "text": text}})

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.sent if m["chat"]["id"] == chat_id]

    # -- the Bot API ---------------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "getUpdates":
            return self._get_updates(params)
        if method == "sendMessage":
            message = {"message_id": next(self.message_ids), "date": int(time.time()), "from": BOT_USER,
                       "chat": {"id": int(params["chat_id"]), "type": "private"}, "text": params["text"]}
            if "reply_markup" in params:
                message["reply_markup"] = json.loads(params["reply_markup"])
            with self.lock:
                self.sent.append(message)
            return message
        if method == "setWebhook":
            with self.lock:
                self.webhook = params
            return True
        if method in ("answerCallbackQuery", "deleteWebhook", "setMyCommands"):
            return True
        raise LookupError(method)

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 5.0)
        with self.lock:
            self.get_updates_calls += 1
            if offset:
                self.confirmed_offset = max(self.confirmed_offset, offset)
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and time.monotonic() < deadline:
                self.lock.wait(deadline - time.monotonic())
            return list(self.updates[:100])


class _Handler(BaseHTTPRequestHandler):
    api: FakeTelegram

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        if self.headers.get("Content-Type", "").startswith("application/json"):
            params = json.loads(body or "{}")
        else:
            params = dict(parse_qsl(body))
        method = self.path.rsplit("/", 1)[-1]
        try:
            result = {"ok": True, "result": self.api.call(method, params)}
            status = 200
        except LookupError:
            result, status = {"ok": False, "error_code": 404, "description": "Not Found"}, 404
        data = json.dumps(result).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet in tests
        pass


@contextmanager
def fake_telegram() -> Iterator[tuple[FakeTelegram, str]]:
    """(the stand-in, the base_url to give python-telegram-bot)."""
    api = FakeTelegram()
    handler = type("Handler", (_Handler,), {"api": api})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api, f"http://127.0.0.1:{server.server_address[1]}/bot"
    finally:
        server.shutdown()
        server.server_close()
