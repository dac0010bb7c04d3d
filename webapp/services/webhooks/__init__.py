"""Webhooks: the business's own systems told about every customer action, signed, until received.

The events themselves are written where things change, through `core.events` (the catalogue
and `emit`, low enough for every feature package to call). This package is the rest:
`endpoints` (the admin's endpoints, their secrets and test events, audited), `keys` (secrets
encrypted at rest), `addresses` (which URLs may be called), `sending` (claiming due deliveries,
signing per Standard Webhooks, one HTTP attempt to the checked address, the retry schedule,
disabling an endpoint that keeps failing), `log` (the delivery log, Resend, Replay since) and
`docs` (docs/webhooks.md from the catalogue). Nothing here runs inside a request: the
schedule (worker/jobs.py `send_webhooks`) sends.
"""
