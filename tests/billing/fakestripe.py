"""A local HTTP server that plays the part of Stripe's API that Optera and dj-stripe call.

It keeps objects in memory, answers in the API version stripe-python pins (dahlia: a
subscription's period lives on its items, an invoice names its subscription under `parent`),
records every request, and answers 404 in Stripe's error shape for anything it does not know,
so a test sees what was asked. Events are built and signed here the way Stripe signs them.
"""

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import stripe

ACCOUNT_ID = "acct_optera_fake"
# The signing secret of the webhook endpoint the tests record (`stripe_webhook_endpoint --secret`).
WEBHOOK_SECRET = "whsec_optera_test_0123456789abcdef"
MONTH_SECONDS = 30 * 24 * 3600


def new_id(prefix):
    return f"{prefix}_{secrets.token_hex(8)}"


def decode_form(pairs):
    """Turn Stripe's form encoding (`a[b][0][c]=v`) back into nested dicts and lists."""
    root = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists_from_indexed(root)


def _lists_from_indexed(node):
    if not isinstance(node, dict):
        return node
    converted = {key: _lists_from_indexed(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


@dataclass
class Request:
    method: str
    path: str
    params: dict
    headers: dict


@dataclass
class FakeStripe:
    api_key: str = "sk_test_" + "OpteraFake" * 3
    requests: list = field(default_factory=list)
    objects: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without this, Nagle and delayed ACKs add 40 ms to each.
            disable_nagle_algorithm = True

            def do_GET(self):
                fake._handle(self)

            def do_POST(self):
                fake._handle(self)

            def do_DELETE(self):
                fake._handle(self)

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-stripe", daemon=True)
        self.thread.start()
        self.reset()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def reset(self):
        with self.lock:
            self.requests.clear()
            self.objects.clear()
        self.put(
            {
                "id": ACCOUNT_ID,
                "object": "account",
                "type": "standard",
                "country": "US",
                "default_currency": "usd",
                "email": "billing@optera.test",
                "charges_enabled": True,
                "payouts_enabled": True,
                "details_submitted": True,
                "business_profile": {"name": "Optera test"},
                "settings": {"dashboard": {"display_name": "Optera test", "timezone": "Etc/UTC"}},
                "metadata": {},
                "created": int(time.time()),
            }
        )

    # -- objects --------------------------------------------------------------------------------

    def put(self, obj):
        with self.lock:
            self.objects[obj["id"]] = obj
        return obj

    def get(self, object_id):
        with self.lock:
            return self.objects.get(object_id)

    def of_type(self, object_name):
        with self.lock:
            return [obj for obj in self.objects.values() if obj["object"] == object_name]

    def requested(self, method, path):
        """Return the recorded requests for `method` and `path` (a path or a compiled pattern)."""
        with self.lock:
            return [
                request
                for request in self.requests
                if request.method == method
                and (request.path == path if isinstance(path, str) else path.fullmatch(request.path))
            ]

    def price_create(self, *, price_id, product_name, unit_amount):
        product_id = f"prod_{price_id.removeprefix('price_')}"
        now = int(time.time())
        self.put(
            {
                "id": product_id,
                "object": "product",
                "name": product_name,
                "active": True,
                "type": "service",
                "description": None,
                "livemode": False,
                "metadata": {},
                "created": now,
                "updated": now,
                "default_price": None,
            }
        )
        return self.put(
            {
                "id": price_id,
                "object": "price",
                "active": True,
                "currency": "usd",
                "unit_amount": unit_amount,
                "unit_amount_decimal": str(unit_amount),
                "billing_scheme": "per_unit",
                "type": "recurring",
                "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed", "meter": None},
                "product": product_id,
                "nickname": None,
                "lookup_key": None,
                "tax_behavior": "unspecified",
                "livemode": False,
                "metadata": {},
                "created": now,
            }
        )

    def checkout_complete(self, session_id, *, status="active", period_end=None):
        """Play the customer paying at Checkout: the session completes and a subscription exists."""
        session = self.get(session_id)
        params = session["_params"]
        price = self.get(params["line_items"][0]["price"])
        now = int(time.time())
        subscription = self.subscription_create(
            customer=session["customer"],
            price=price,
            metadata=params.get("subscription_data", {}).get("metadata", {}),
            status=status,
            period_end=period_end or now + MONTH_SECONDS,
        )
        session.update(status="complete", payment_status="paid", subscription=subscription["id"])
        return session, subscription

    def subscription_create(self, *, customer, price, metadata, status, period_end):
        now = int(time.time())
        subscription_id = new_id("sub")
        return self.put(
            {
                "id": subscription_id,
                "object": "subscription",
                "customer": customer,
                "status": status,
                "metadata": metadata,
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": new_id("si"),
                            "object": "subscription_item",
                            "price": price,
                            "quantity": 1,
                            "subscription": subscription_id,
                            "current_period_start": period_end - MONTH_SECONDS,
                            "current_period_end": period_end,
                            "created": now,
                            "metadata": {},
                            "tax_rates": [],
                            "discounts": [],
                        }
                    ],
                    "has_more": False,
                    "url": f"/v1/subscription_items?subscription={subscription_id}",
                },
                "created": now,
                "start_date": now,
                "billing_cycle_anchor": now,
                "cancel_at_period_end": False,
                "cancel_at": None,
                "canceled_at": None,
                "ended_at": None,
                "collection_method": "charge_automatically",
                "currency": "usd",
                "default_payment_method": None,
                "default_tax_rates": [],
                "discounts": [],
                "latest_invoice": None,
                "livemode": False,
            }
        )

    def subscription_change(self, subscription_id, **changes):
        """Change a subscription as Stripe would (status, price, period end); return a snapshot of it."""
        subscription = self.get(subscription_id)
        item = subscription["items"]["data"][0]
        if "price" in changes:
            item["price"] = self.get(changes.pop("price"))
        if "period_end" in changes:
            item["current_period_end"] = changes.pop("period_end")
        subscription.update(changes)
        return json.loads(json.dumps(subscription))

    def invoice_create(self, *, subscription_id, status="paid", attempt_count=1):
        subscription = self.get(subscription_id)
        item = subscription["items"]["data"][0]
        amount = item["price"]["unit_amount"]
        paid = status == "paid"
        return self.put(
            {
                "id": new_id("in"),
                "object": "invoice",
                "customer": subscription["customer"],
                "status": status,
                "number": f"OPT-{secrets.randbelow(10**6):06d}",
                "currency": "usd",
                "total": amount,
                "subtotal": amount,
                "amount_due": amount,
                "amount_paid": amount if paid else 0,
                "amount_remaining": 0 if paid else amount,
                "attempt_count": attempt_count,
                "attempted": True,
                "billing_reason": "subscription_cycle",
                "collection_method": "charge_automatically",
                "hosted_invoice_url": "https://invoice.stripe.test/i/" + secrets.token_hex(6),
                "invoice_pdf": "https://invoice.stripe.test/pdf/" + secrets.token_hex(6),
                "parent": {
                    "type": "subscription_details",
                    "quote_details": None,
                    "subscription_details": {"subscription": subscription_id, "metadata": subscription["metadata"]},
                },
                "lines": {"object": "list", "data": [], "has_more": False, "url": "/v1/invoices/lines"},
                "period_start": item["current_period_start"],
                "period_end": item["current_period_end"],
                "discounts": [],
                "default_tax_rates": [],
                "livemode": False,
                "metadata": {},
                "created": int(time.time()),
            }
        )

    # -- events ---------------------------------------------------------------------------------

    def event(self, event_type, obj, *, created=None):
        """Return an event carrying a snapshot of `obj`, as Stripe would send it."""
        return {
            "id": new_id("evt"),
            "object": "event",
            "api_version": stripe.api_version,
            "created": created or int(time.time()),
            "data": {"object": json.loads(json.dumps(obj))},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }

    # -- HTTP -----------------------------------------------------------------------------------

    def _handle(self, handler):
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        params = decode_form(parse_qsl(parts.query, keep_blank_values=True) + parse_qsl(body, keep_blank_values=True))
        request = Request(handler.command, parts.path, params, {k.lower(): v for k, v in handler.headers.items()})
        with self.lock:
            self.requests.append(request)
        if handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._answer(handler, 401, _error("authentication_error", "Invalid API Key provided."))
        status, payload = self._route(request)
        self._answer(handler, status, payload)

    def _answer(self, handler, status, payload):
        body = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Request-Id", new_id("req"))
        handler.end_headers()
        handler.wfile.write(body)

    def _route(self, request):
        method, path, params = request.method, request.path, request.params
        if (method, path) == ("GET", "/v1/account"):
            return 200, self.get(ACCOUNT_ID)
        if (method, path) == ("POST", "/v1/customers"):
            return 200, self._customer_create(params)
        if (method, path) == ("POST", "/v1/checkout/sessions"):
            return self._checkout_session_create(params)
        if (method, path) == ("POST", "/v1/billing_portal/sessions"):
            return 200, self._portal_session_create(params)
        features = re.fullmatch(r"/v1/products/([\w-]+)/features", path)
        if method == "GET" and features and self.get(features.group(1)):
            return 200, {"object": "list", "data": [], "has_more": False, "url": path}
        cancel = re.fullmatch(r"/v1/subscriptions/([\w-]+)", path)
        if method == "DELETE" and cancel:
            return self._subscription_cancel(cancel.group(1))
        match = re.fullmatch(r"/v1/(customers|checkout/sessions|subscriptions|prices|products|invoices)/([\w-]+)", path)
        if method == "GET" and match:
            obj = self.get(match.group(2))
            if obj is not None:
                return 200, _public(obj)
            kind = match.group(1).split("/")[-1].rstrip("s")
            return 404, _error("invalid_request_error", f"No such {kind}: '{match.group(2)}'", code="resource_missing")
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def _subscription_cancel(self, subscription_id):
        subscription = self.get(subscription_id)
        if subscription is None:
            return 404, _error(
                "invalid_request_error", f"No such subscription: '{subscription_id}'", code="resource_missing"
            )
        self.subscription_change(subscription_id, status="canceled")
        return 200, _public(self.get(subscription_id))

    def _customer_create(self, params):
        return self.put(
            {
                "id": new_id("cus"),
                "object": "customer",
                "name": params.get("name"),
                "email": params.get("email"),
                "description": None,
                "metadata": params.get("metadata", {}),
                "balance": 0,
                "currency": None,
                "default_source": None,
                "delinquent": False,
                "discount": None,
                "invoice_prefix": secrets.token_hex(4).upper(),
                "invoice_settings": {"default_payment_method": None, "custom_fields": None, "footer": None},
                "livemode": False,
                "preferred_locales": [],
                "shipping": None,
                "tax_exempt": "none",
                "created": int(time.time()),
            }
        )

    def _checkout_session_create(self, params):
        session_id = new_id("cs_test")
        for item in params.get("line_items", []):
            if self.get(item.get("price")) is None:
                return 400, _error(
                    "invalid_request_error", f"No such price: '{item.get('price')}'", code="resource_missing"
                )
        return 200, self.put(
            {
                "id": session_id,
                "object": "checkout.session",
                "mode": params.get("mode"),
                "customer": params.get("customer"),
                "client_reference_id": params.get("client_reference_id"),
                "metadata": params.get("metadata", {}),
                "success_url": params.get("success_url"),
                "cancel_url": params.get("cancel_url"),
                "url": f"https://checkout.stripe.test/c/pay/{session_id}",
                "status": "open",
                "payment_status": "unpaid",
                "subscription": None,
                "payment_intent": None,
                "setup_intent": None,
                "currency": "usd",
                "livemode": False,
                "created": int(time.time()),
                "expires_at": int(time.time()) + 86400,
                "_params": params,
            }
        )

    def _portal_session_create(self, params):
        session_id = new_id("bps")
        return self.put(
            {
                "id": session_id,
                "object": "billing_portal.session",
                "customer": params.get("customer"),
                "return_url": params.get("return_url"),
                "url": f"https://billing.stripe.test/p/session/{session_id}",
                "livemode": False,
                "created": int(time.time()),
            }
        )


def _public(obj):
    return {key: value for key, value in obj.items() if not key.startswith("_")}


def _error(error_type, message, *, code=None):
    return {"error": {"type": error_type, "message": message, "code": code}}


def signature_header(payload, secret, *, timestamp=None):
    """Return a `Stripe-Signature` header for `payload` (bytes): `t=<unix time>,v1=<HMAC-SHA256 of "t.payload">`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signed_post(client, path, event, *, secret=WEBHOOK_SECRET, timestamp=None, body=None, **headers):
    """POST an event to a webhook as Stripe does: the exact bytes it signed, under `Stripe-Signature`.

    `body` replaces what is sent (not what is signed), to play a re-serialised or tampered body.
    """
    payload = json.dumps(event).encode()
    return client.post(
        path,
        data=payload if body is None else body,
        content_type="application/json",
        headers={"Stripe-Signature": signature_header(payload, secret, timestamp=timestamp), **headers},
    )
