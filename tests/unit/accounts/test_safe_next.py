"""After login, `next=` is followed only to a path of this site: the final URL is checked."""

from __future__ import annotations

import pytest

from webapp.services.accounts.auth import safe_next

BYPASSES = [
    "//evil.example", "/\\evil.example", "/\t/evil.example", "\\/\\/evil.example",
    "/\\/evil.example", "https://evil.example", "https:evil.example", "http:/evil.example",
    "javascript:alert(1)", "/\r/evil.example", "/\n/evil.example", "\n//evil.example",
    " //evil.example", "/\uff0fevil.example", "\uff0f\uff0fevil.example",
    "/\u2215evil.example", "/\u2044evil.example", "\u3002/evil.example", "//\x00evil.example",
    "/\x00/evil.example", "/\x0b/evil.example", "", None, "evil.example",
    "/" + "a" * 3000,
]


@pytest.mark.parametrize("target", BYPASSES)
def test_a_target_that_could_leave_the_site_is_not_followed(target):
    assert safe_next(target) is None


@pytest.mark.parametrize(("target", "final"), [
    ("/invoices", "/invoices"),
    ("/invoices?status=overdue&page=2", "/invoices?status=overdue&page=2"),
    ("/subscriptions/12#actions", "/subscriptions/12#actions"),
    ("/invoices?q=caf\u00e9", "/invoices?q=caf%C3%A9"),
])
def test_a_path_of_this_site_is_followed(target, final):
    assert safe_next(target) == final
