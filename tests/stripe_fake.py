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


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
