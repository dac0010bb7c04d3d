"""The app the browser tests serve with gunicorn: the real factory, with the tests' fixed clock.

`gunicorn tests.browser.wsgi:app` reads everything else from the environment, exactly as
`webapp:create_app()` does; PORTAL_FIXED_NOW (ISO 8601) pins clock.now() so pages show the same
dates as the seeded demo data, whatever day the suite runs.
"""

from __future__ import annotations

import os
from datetime import datetime

from webapp import create_app

app = create_app({"FIXED_NOW": datetime.fromisoformat(os.environ["PORTAL_FIXED_NOW"])})
