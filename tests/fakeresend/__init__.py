"""A fake Resend: a real local HTTP server answering POST /emails as Resend does, recording each email.

fake = FakeResend()
fake.start()
settings.RESEND_API_URL, settings.RESEND_API_KEY = fake.url, fake.api_key
fake.fail_next(2)            # the next two sends answer 500, as during an outage
...
fake.messages                # the emails it accepted, once per Idempotency-Key
fake.requests                # every POST /emails it received, accepted or not
"""

from .server import FakeResend, Message, Received

__all__ = ["FakeResend", "Message", "Received"]
