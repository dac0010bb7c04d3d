"""Preferences: the one place that answers "may this customer do X now?".

Every customer-facing module and action asks `allowed`/`require` here (the web layer through
`webapp.permissions`) instead of reading preference fields; the admin page saves through
`update`, which validates everything first, changes nothing on error and audits every change.
"""

from webapp.services.core.preferences.permissions import *  # noqa: F403
from webapp.services.core.preferences.settings import *  # noqa: F403
