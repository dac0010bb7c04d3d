"""localstripe (a stateful fake Stripe server with a fake Stripe.js) for the tests.

`python -m tests.stripe_fake PORT` serves localstripe's aiohttp application on 127.0.0.1:PORT,
starting empty: the `localstripe` command would listen on all interfaces and reload its state
from /tmp/localstripe.pickle, and write it back after every POST (turned off here, so parallel
test processes never share a file). `running()` starts one for a test session and stops it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests

# localstripe's test cards: charged, declined when charged (it attaches), and asking for 3-D
# Secure on every payment.
VISA, DECLINED_ON_CHARGE, THREE_D_SECURE = "4242424242424242", "4000000000000341", \
    "4000002500003155"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running() -> Iterator[str]:
    """The base URL of a fresh localstripe on a free loopback port, stopped afterwards."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.stripe_fake", str(port)],
                               cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError("localstripe did not start: "
                                   + process.stderr.read().decode(errors="replace")[-2000:])
            try:
                requests.get(f"{base}/js.stripe.com/v3/", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("localstripe did not answer within 20 s") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def register_webhook(base: str, url: str, secret: str) -> None:
    """Tell localstripe where to send its events (it signs them with `secret`)."""
    answer = requests.post(f"{base}/_config/webhooks/portal",
                           data={"url": url, "secret": secret}, timeout=5,
                           headers={"Authorization": "Bearer sk_test_fake"})
    answer.raise_for_status()


def _serve(port: int) -> None:
    from aiohttp import web
    from localstripe import resources, server

    resources.store.dump_to_disk = lambda: None
    web.run_app(server.app, host="127.0.0.1", port=port, print=None, access_log=None)



# -- what Stripe.js and Stripe's servers do, done by the tests ---------------------------------

def confirm_card_setup(base: str, publishable_key: str, client_secret: str, number: str,
                       *, authenticate: bool = True) -> dict:
    """What the fake Stripe.js's confirmCardSetup sends for a card typed into its Card Element
    (and its 3-D Secure "Complete authentication" when the card asks for it)."""
    seti = client_secret.split("_secret_")[0]
    body = {"key": publishable_key, "use_stripe_sdk": True, "client_secret": client_secret,
            "payment_method_data": {"type": "card", "card": {
                "number": number, "exp_month": "12", "exp_year": "2031", "cvc": "123"}}}
    answer = requests.post(f"{base}/v1/setup_intents/{seti}/confirm", json=body, timeout=10)
    intent = answer.json()
    if answer.ok and intent.get("status") == "requires_action" and authenticate:
        intent = requests.post(f"{base}/v1/setup_intents/{seti}/confirm", timeout=10, json={
            "key": publishable_key, "use_stripe_sdk": True,
            "client_secret": client_secret}).json()
    return intent


def authenticate_payment(base: str, publishable_key: str, client_secret: str,
                         success: bool = True) -> dict:
    """The fake Stripe.js's confirmCardPayment: the 3-D Secure challenge, passed or failed."""
    pi = client_secret.split("_secret_")[0]
    return requests.post(f"{base}/v1/payment_intents/{pi}/_authenticate?success="
                         f"{'true' if success else 'false'}", timeout=10,
                         json={"key": publishable_key, "client_secret": client_secret}).json()


def api(base: str, secret_key: str, method: str, path: str, **params) -> dict:
    answer = requests.request(method, f"{base}/v1/{path}", data=params or None, timeout=10,
                              headers={"Authorization": f"Bearer {secret_key}"})
    return answer.json()


def card_at_stripe(base: str, secret_key: str, number: str, email: str = "") -> tuple[str, str]:
    """A Stripe customer with a card attached, made the way a server does (no Stripe.js):
    (customer id, PaymentMethod id)."""
    customer = api(base, secret_key, "POST", "customers", email=email)["id"]
    method = api(base, secret_key, "POST", "payment_methods", type="card",
                 **{"card[number]": number, "card[exp_month]": "12", "card[exp_year]": "2031",
                    "card[cvc]": "123"})["id"]
    api(base, secret_key, "POST", f"payment_methods/{method}/attach", customer=customer)
    return customer, method


def payment_intents(base: str, secret_key: str) -> list[dict]:
    """Every PaymentIntent the fake holds."""
    return listed(base, secret_key, "payment_intents")


def listed(base: str, secret_key: str, resource: str) -> list[dict]:
    """Every object of a kind the fake holds (its lists page by 100)."""
    found, after = [], None
    while True:
        page = api(base, secret_key, "GET", f"{resource}?limit=100"
                   + (f"&starting_after={after}" if after else ""))
        found += page["data"]
        if not page.get("has_more") or not page["data"]:
            return found
        after = page["data"][-1]["id"]


def event_ids(base: str, secret_key: str) -> set[str]:
    """The ids of every event the fake has made (it sends each one's webhook a second later,
    on its own)."""
    return {event["id"] for event in listed(base, secret_key, "events")}


def signed_event(secret: str, event_type: str, obj: dict, *, event_id: str | None = None,
                 timestamp: int | None = None) -> tuple[bytes, str]:
    """An event as Stripe sends it: the JSON body and its Stripe-Signature header."""
    import hashlib
    import hmac
    import json
    import secrets

    timestamp = int(time.time()) if timestamp is None else timestamp
    payload = json.dumps({"id": event_id or f"evt_{secrets.token_hex(8)}", "object": "event",
                          "type": event_type, "created": timestamp, "livemode": False,
                          "api_version": "2024-06-20", "data": {"object": obj}}).encode()
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload,
                         hashlib.sha256).hexdigest()
    return payload, f"t={timestamp},v1={signature}"


class DroppingProxy:
    """A loopback HTTP proxy between the SDK and the fake that forwards every request, and for
    the first request matching (method, path) drops the answer after the fake has acted on it
    (the connection closes without a response): a lost response. `seen` lists each request's
    (method, path, Idempotency-Key header)."""

    def __init__(self, upstream: str, drop: tuple[str, str]) -> None:
        import http.server
        import threading

        self.upstream, self.drop, self.seen, self.dropped = upstream, drop, [], 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                proxy.seen.append((self.command, self.path.split("?")[0],
                                   self.headers.get("Idempotency-Key")))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "connection")}
                answer = requests.request(self.command, proxy.upstream + self.path, data=body,
                                          headers=headers, timeout=30)
                if (self.command, self.path.split("?")[0]) == proxy.drop and not proxy.dropped:
                    proxy.dropped += 1
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", "text/plain"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_DELETE = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> DroppingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
