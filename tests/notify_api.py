"""A local stand-in for GOV.UK Notify's HTTP API, served on loopback.

The real notifications-python-client talks to it through its base_url, as it talks to Notify:
POST /v2/notifications/sms with a JSON Web Token signed by the API key's secret, which the
stand-in verifies with the client library's own decoder (issuer = the service id, issued within
30 seconds), and a template that must exist. It answers as Notify does (201 and the notification)
and can be told to fail. It also plays Notify's side of the callbacks: a resident's text is POSTed
to the service's received-text URL, and a delivery receipt to its delivery-status URL, each with
the bearer token the service set.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from notifications_python_client.authentication import decode_jwt_token, get_token_issuer
from notifications_python_client.errors import TokenError

from tests.servers import free_port

SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
API_KEY = f"triage_test-{SERVICE_ID}-{SECRET}"
TEMPLATE_ID = "f33517ff-2a88-4f6e-b855-c550268ce08a"
CALLBACK_TOKEN = "callback-token-from-notify-settings"
SERVICE_NUMBER = "07860003002"


class FakeNotify:
    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.sent: list[dict[str, Any]] = []
        self.refused: list[str] = []  # why requests were refused (bad token, unknown template)
        self.fail_next = 0  # answer this many sends with a 500
        self.fail_after = 0  # ...once this many sends have been taken
        self.service_url = ""  # where the service's callbacks are, once it is serving

    # -- Notify's API, as the client calls it ---------------------------------------------------

    def send_sms(self, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        token = headers.get("authorization", "").removeprefix("Bearer ").strip()
        try:
            if get_token_issuer(token) != SERVICE_ID:
                raise TokenError("Invalid token: issuer")
            decode_jwt_token(token, SECRET)
        except TokenError as error:
            self.refused.append(error.message)
            return 403, {"status_code": 403, "errors": [{"error": "AuthError", "message": error.message}]}
        if body.get("template_id") != TEMPLATE_ID:
            self.refused.append("template")
            return 400, {"status_code": 400, "errors": [{"error": "BadRequestError", "message": "Template not found"}]}
        with self.lock:
            if self.fail_next > 0 and len(self.sent) >= self.fail_after:
                self.fail_next -= 1
                return 500, {"status_code": 500, "errors": [{"error": "Exception", "message": "Internal error"}]}
            notification = {"id": str(uuid.uuid4()), "to": body["phone_number"],
                            "body": (body.get("personalisation") or {}).get("body", ""),
                            "reference": body.get("reference")}
            self.sent.append(notification)
            self.lock.notify_all()
        return 201, {"id": notification["id"], "reference": notification["reference"],
                     "content": {"body": notification["body"], "from_number": "GOVUK"},
                     "uri": f"https://api.notifications.service.gov.uk/v2/notifications/{notification['id']}",
                     "template": {"id": TEMPLATE_ID, "version": 1, "uri": "https://example.invalid/template"}}

    def sent_to(self, number: str) -> list[dict[str, Any]]:
        with self.lock:
            return [n for n in self.sent if n["to"] == number]

    # -- Notify calling the service ---------------------------------------------------------------

    def text(self, source_number: str, message: str, *, id: str | None = None,
             token: str | None = CALLBACK_TOKEN) -> httpx.Response:
        """A resident's text arriving at the service's number, as Notify posts it."""
        body = {"id": id or str(uuid.uuid4()), "source_number": source_number,
                "destination_number": SERVICE_NUMBER, "message": message,
                "date_received": "2026-12-03T10:15:00.000000Z"}
        return self._post("/notify/received-text", body, token)

    def receipt(self, notification: dict[str, Any], status: str, token: str | None = CALLBACK_TOKEN) -> httpx.Response:
        body = {"id": notification["id"], "reference": notification["reference"], "to": notification["to"],
                "status": status, "created_at": "2026-12-03T10:15:01.000000Z",
                "completed_at": "2026-12-03T10:15:09.000000Z", "sent_at": "2026-12-03T10:15:02.000000Z",
                "notification_type": "sms"}
        return self._post("/notify/delivery-status", body, token)

    def _post(self, path: str, body: dict[str, Any], token: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return httpx.post(f"{self.service_url}{path}", json=body, headers=headers, timeout=30)


@contextmanager
def fake_notify() -> Iterator[tuple[FakeNotify, str]]:
    """(the stand-in, its base URL) while it serves."""
    api = FakeNotify()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._answer(400, {"status_code": 400, "errors": [{"error": "ValidationError"}]})
                return
            if self.path != "/v2/notifications/sms":
                self._answer(404, {"status_code": 404, "errors": [{"error": "NotFound"}]})
                return
            status, answer = api.send_sms({k.lower(): v for k, v in self.headers.items()}, body)
            self._answer(status, answer)

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
