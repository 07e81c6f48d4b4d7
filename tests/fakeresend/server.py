"""The fake Resend's server: http.server in a thread, speaking the part of Resend's API that Optera uses."""

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Message:
    """An email Resend accepted."""

    id: str
    sender: str
    to: tuple
    subject: str
    text: str
    html: str
    idempotency_key: str | None


@dataclass(frozen=True)
class Received:
    """One POST /emails and the status it was answered with."""

    authorization: str | None
    idempotency_key: str | None
    body: dict
    status: int


@dataclass
class FakeResend:
    api_key: str = "re_test_" + "OpteraFake" * 2
    messages: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    _failures: list = field(default_factory=list)
    # Idempotency-Key -> (the body it came with, the answer given), as Resend keeps them for 24 hours.
    _answered: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path != "/emails":
                    self._answer(404, _error(404, "not_found", "The requested endpoint does not exist."))
                    return
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = None
                status, answer = fake._answer_send(self.headers, body)
                self._answer(status, answer)

            def _answer(self, status, answer):
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format, *args):  # quiet: the tests read the records instead
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-resend", daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def reset(self):
        with self.lock:
            self.messages.clear()
            self.requests.clear()
            self._failures.clear()
            self._answered.clear()

    def fail_next(self, count, *, status=500, name="application_error", after_accepting=False):
        """Answer the next `count` sends with `status` (500: an outage; 422: a refused email).

        `after_accepting`: accept the email, then answer with the error, as when Resend's answer is
        lost on the way back; a retry with the same Idempotency-Key then gets the first answer.
        """
        with self.lock:
            self._failures.extend([(status, name, after_accepting)] * count)

    def to(self, address):
        """The accepted messages addressed to `address`."""
        with self.lock:
            return [message for message in self.messages if address in message.to]

    def _answer_send(self, headers, body):
        authorization = headers.get("Authorization")
        idempotency_key = headers.get("Idempotency-Key")
        with self.lock:
            status, answer = self._decide(authorization, idempotency_key, body)
            self.requests.append(Received(authorization, idempotency_key, body or {}, status))
        return status, answer

    def _decide(self, authorization, idempotency_key, body):
        if not authorization or authorization == "Bearer ":
            return 401, _error(401, "missing_api_key", "Missing API key in the authorization header.")
        if authorization != f"Bearer {self.api_key}":
            return 403, _error(403, "invalid_api_key", "API key is invalid.")
        failure = self._failures.pop(0) if self._failures else None
        if failure is not None and not failure[2]:
            return failure[0], _error(failure[0], failure[1], "The fake was told to fail this send.")
        status, answer = self._accept(idempotency_key, body)
        if failure is not None and status == 200:
            return failure[0], _error(failure[0], failure[1], "The fake accepted the email, then failed to answer.")
        return status, answer

    def _accept(self, idempotency_key, body):
        if not isinstance(body, dict):
            return 422, _error(422, "validation_error", "The body is not a JSON object.")
        missing = [name for name in ("from", "to", "subject") if not body.get(name)]
        if missing or not (body.get("text") or body.get("html")):
            return 422, _error(422, "missing_required_field", f"Missing `{(missing or ['html or text'])[0]}` field.")
        if idempotency_key is not None and idempotency_key in self._answered:
            first_body, first_answer = self._answered[idempotency_key]
            if first_body != body:
                return 409, _error(
                    409, "invalid_idempotent_request", "Same idempotency key used with a different request payload."
                )
            return 200, first_answer
        to = body["to"] if isinstance(body["to"], list) else [body["to"]]
        message = Message(
            id=str(uuid.uuid4()),
            sender=body["from"],
            to=tuple(to),
            subject=body["subject"],
            text=body.get("text", ""),
            html=body.get("html", ""),
            idempotency_key=idempotency_key,
        )
        self.messages.append(message)
        answer = {"id": message.id}
        if idempotency_key is not None:
            self._answered[idempotency_key] = (body, answer)
        return 200, answer


def _error(status, name, message):
    return {"statusCode": status, "name": name, "message": message}
