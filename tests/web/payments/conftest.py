"""The payments' web tests: localstripe for the Stripe ones, one per test module."""

from __future__ import annotations

import pytest

from tests import stripe_fake


@pytest.fixture(scope="module")
def fake():
    """A fresh localstripe on a free loopback port for the module's tests."""
    with stripe_fake.running() as base:
        yield base
