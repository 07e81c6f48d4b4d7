"""Steady client traffic against an Optera process while a test breaks something under it."""

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from tests.conftest import PROVIDER_KEY_CANARY

CLIENT_THREADS = 3
PAUSE_SECONDS = 0.1


@dataclass
class Traffic:
    """Clients sending a steady mix of misses, repeats and streams with one key, noting every answer.

    Each answer is noted with the phase the test was in when it came back, its status and its
    X-Optera-Degraded header.
    """

    url: str
    api_key: str
    answers: list = field(default_factory=list)
    phase: str = "before"
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self, threads=CLIENT_THREADS):
        workers = [threading.Thread(target=self._send, args=(number,)) for number in range(threads)]
        for worker in workers:
            worker.start()
        return workers

    def stop(self, workers):
        self._stop.set()
        for worker in workers:
            worker.join(timeout=60)

    def statuses(self, phase=None):
        return Counter(status for answer_phase, status, _ in self.answers if phase in (None, answer_phase))

    def flags(self, phase):
        return Counter(flag for answer_phase, _, flag in self.answers if answer_phase == phase)

    def _send(self, worker_number):
        with httpx.Client(base_url=self.url, timeout=30) as client:
            number = 0
            while not self._stop.is_set():
                number += 1
                kind = ("miss", "repeat", "stream")[number % 3]
                content = "the same question" if kind == "repeat" else f"question {worker_number}-{number}"
                body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]}
                if kind == "stream":
                    body["stream"] = True
                try:
                    response = client.post(
                        "/v1/chat/completions",
                        json=body,
                        headers={"Authorization": f"Bearer {self.api_key}", "X-Provider-Key": PROVIDER_KEY_CANARY},
                    )
                    answer = (response.status_code, response.headers.get("x-optera-degraded"))
                except httpx.HTTPError as error:  # a failed request is an answer too: the test counts it
                    answer = (type(error).__name__, None)
                self.answers.append((self.phase, *answer))
                time.sleep(PAUSE_SECONDS)


def stream_two_events_and_hang_up(v1_url, api_key, *, verify=True):
    """Ask for a streamed chat completion, read two events and close the connection; return when it was closed."""
    with (
        httpx.Client(verify=verify, timeout=10) as client,
        client.stream(
            "POST",
            f"{v1_url}/chat/completions",
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}], "stream": True},
            headers={"Authorization": f"Bearer {api_key}", "X-Provider-Key": PROVIDER_KEY_CANARY},
        ) as response,
    ):
        received = 0
        for line in response.iter_lines():
            received += line.startswith("data:")
            if received == 2:
                break
    return time.monotonic()
