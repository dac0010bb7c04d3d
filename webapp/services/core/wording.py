"""The words the portal writes into its records, stored in English and shown in the reader's
language: the billing core's, and a sign-in's device ("Chrome on macOS").

An invoice line's description ("Setup fee", "Unused time: Pro (10 of 30 days)", "Coupon
SAVE10: Ten off"), a credit note's reason and a refund's reference are kept as written on the
day, in English: they are the record, the ledger's checks hash them, and the lines of a later
change are matched on them (pricing.base_description). Each is written from one of the message
ids below and its values (`write`), so `reword` reads a stored text back into its message id
and values and writes it in the active language: "Ungenutzte Zeit: Pro (10 von 30 Tagen)".

A value that is a text of ours itself (a prorated line's item, a change's summary) is reworded
in turn; names, codes and numbers are the business's own and stay as they are. A text no
message id matches (a line or a reason an admin typed) is shown as it was stored. Old records
need no migration: they were written from these same texts.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from babel.support import LazyProxy

from webapp.services.core.i18n import N_, current_translations, use_locale

# Invoice lines.
SETUP_FEE = N_("Setup fee")
COUPON = N_("Coupon %(code)s: %(name)s")
UNUSED = N_("Unused time: %(item)s")
PRORATED = N_("%(item)s (%(days)s of %(term)s days)")

# Credit notes' reasons.
UNUSED_ON = N_("Unused time on %(number)s (%(days)s of %(term)s days)")
CHANGE_CREDIT = N_("Unused time on %(number)s: %(change)s")
VOIDED_PART = N_("Paid part of voided invoice %(number)s")
PAYMENT_CREDIT = N_("Credit from payment %(number)s")
LATE_PAYMENT = N_("Late payment %(number)s")

# Refunds' references.
VOIDED_REFUND = N_("Credit for voided %(number)s")
CREDIT_REFUND = N_("Credit from %(number)s")
GATEWAY_REFUND = N_("Refunded at the payment processor")

# A change's summary by what it changes (plan, addons, coupon), each one sentence: shown on
# the change's pages and mails, and kept in the reason of the credit note it makes.
CHANGE_SUMMARIES = {
    (True, False, False): N_("Change plan to %(plan)s"),
    (False, True, False): N_("Change addons"),
    (False, False, True): N_("Change coupon %(coupon)s"),
    (True, True, False): N_("Change plan to %(plan)s, addons"),
    (True, False, True): N_("Change plan to %(plan)s, coupon %(coupon)s"),
    (False, True, True): N_("Change addons, coupon %(coupon)s"),
    (True, True, True): N_("Change plan to %(plan)s, addons, coupon %(coupon)s"),
}

TEXTS = (SETUP_FEE, COUPON, UNUSED, PRORATED, UNUSED_ON, CHANGE_CREDIT, VOIDED_PART,
         PAYMENT_CREDIT, LATE_PAYMENT, VOIDED_REFUND, CREDIT_REFUND, GATEWAY_REFUND,
         *CHANGE_SUMMARIES.values())

# A sign-in's device (user_session.device, trusted_device.device, the new-device mail): read
# with these alone, as "%(browser)s on %(system)s" would read any line that says "on".
DEVICE = N_("%(browser)s on %(system)s")
UNKNOWN_DEVICE = N_("Unknown browser")
DEVICE_TEXTS = (DEVICE, UNKNOWN_DEVICE)

# What each value may be: days are whole numbers, a number or a code one word; the rest any
# text (a plan's name may hold a colon or brackets).
_SHAPES = {"days": r"\d+", "term": r"\d+", "number": r"\S+", "code": r"[^\s:]+"}
_OURS = frozenset({"item", "change"})  # values that are texts of ours, reworded in turn
_FIELD = re.compile(r"%\((\w+)\)s")


def write(msgid: str, **values: object) -> str:
    """The text as it is stored: English, from a message id above and its values."""
    return msgid % values if values else msgid


def english(message: object) -> str:
    """A message of ours (a lazy text, a `Dated` summary) written in English, to be stored."""
    with use_locale(None):
        return str(message)


@cache
def _patterns(texts: tuple[str, ...]) -> tuple[tuple[str, re.Pattern], ...]:
    def pattern(msgid: str) -> re.Pattern:
        parts, at = [], 0
        for field in _FIELD.finditer(msgid):
            parts.append(re.escape(msgid[at:field.start()]))
            name = field.group(1)
            parts.append(f"(?P<{name}>{_SHAPES.get(name, r'.+?')})")
            at = field.end()
        parts.append(re.escape(msgid[at:]))
        return re.compile("".join(parts), re.DOTALL)

    # The one with the most literal text first, where two could read one text: "Unused time
    # on SUB-1 (10 of 30 days)" is UNUSED_ON, not PRORATED of "Unused time on SUB-1"; "Change
    # plan to Pro, coupon X" is not "Change plan to %(plan)s" of a plan "Pro, coupon X"; and
    # "Coupon X: Ten off (10 of 30 days)" is PRORATED of a coupon's line.
    ordered = sorted(texts, key=lambda msgid: len(_FIELD.sub("", msgid)), reverse=True)
    return tuple((msgid, pattern(msgid)) for msgid in ordered)


def parse(text: str, texts: tuple[str, ...] = TEXTS) -> tuple[str, dict[str, str]] | None:
    """The message id among `texts` and the values a stored text was written from (None:
    none of ours)."""
    parsed = _parsed(text, texts) if text else None
    return None if parsed is None else (parsed[0], dict(parsed[1]))


@lru_cache(maxsize=4096)
def _parsed(text: str, texts: tuple[str, ...]) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """`parse`, kept per text: a stored text is read again on every page that shows it, and
    trying it against each of our texts' patterns (20 `fullmatch`es a line) was 4 % of an
    invoice page's profiled time (issue 32). The same text always parses the same way."""
    for msgid, pattern in _patterns(texts):
        found = pattern.fullmatch(text)
        if found is not None:
            return msgid, tuple(found.groupdict().items())
    return None


def values_of(text: str, texts: tuple[str, ...] = TEXTS) -> list[str]:
    """The values a stored text holds, those of the texts of ours in it too (the names,
    codes, numbers and days shown as they are); the text itself when it is none of ours."""
    parsed = parse(text, texts)
    if parsed is None:
        return [text]
    return [leaf for name, value in parsed[1].items()
            for leaf in (values_of(value, texts) if name in _OURS else [value])]


def reword_now(text: str, texts: tuple[str, ...] = TEXTS) -> str:
    """A stored text in the active language (as stored when it is none of ours)."""
    parsed = parse(text, texts)
    if parsed is None:
        return text
    msgid, values = parsed
    values = {name: reword_now(value, texts) if name in _OURS else value
              for name, value in values.items()}
    translated = current_translations().ugettext(msgid)
    return translated % values if values else translated


def reword(text: str) -> LazyProxy:
    """`reword_now`, when the text is written out (a service's row shown by a page or a PDF)."""
    return LazyProxy(reword_now, text, enable_cache=False)


def device_now(text: str) -> str:
    """A sign-in's stored device in the active language: "Chrome auf macOS"."""
    return reword_now(text, DEVICE_TEXTS)
