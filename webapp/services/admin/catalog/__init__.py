"""The catalog in the back office: plans, addons and coupons, each priced per currency.

Archiving takes an item out of the choices for new subscriptions and changes (every chooser
filters on status "active") while subscriptions that have it keep it and keep billing for it.
What existing subscriptions depend on is protected: a price in a currency that a running
subscription bills in cannot be removed, and what a plan bills by (its interval) and what a
redeemed coupon takes off are fixed once they are in use.
"""

from webapp.services.admin.catalog.addons import *  # noqa: F403
from webapp.services.admin.catalog.common import *  # noqa: F403
from webapp.services.admin.catalog.coupons import *  # noqa: F403
from webapp.services.admin.catalog.plans import *  # noqa: F403
from webapp.services.admin.catalog.views import *  # noqa: F403
