"""What a German reader (locale de_DE: the demo's Omar, a test's "Kim") really reads: the words
of the real German catalog, so a test asserts them without hard-coding German.

`german("Balance Due")` is the catalog's translation (the English itself while the catalogs
are not compiled: then the portal writes English too), `german("Pay %(amount)s", amount=...)`
with its placeholders filled. Not inside a test that writes its own catalogs
(`catalogs`/`service_catalogs`): this reads whatever services/core/i18n.py reads.
"""

from __future__ import annotations

from webapp.services.core.i18n import translations_for

LOCALE = "de_DE"


def german(msgid: str, **params: object) -> str:
    text = translations_for(LOCALE).ugettext(msgid)
    return text % params if params else text
