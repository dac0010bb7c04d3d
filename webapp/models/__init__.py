"""SQLModel tables, one module per area; importing this package registers them all."""

from sqlmodel import SQLModel

# Named constraints so Alembic can alter them (and batch mode on SQLite can find them).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

from webapp.models.audit import *  # noqa: E402,F403
from webapp.models.backoffice import *  # noqa: E402,F403
from webapp.models.billing import *  # noqa: E402,F403
from webapp.models.core import *  # noqa: E402,F403
from webapp.models.documents import *  # noqa: E402,F403
from webapp.models.engagement import *  # noqa: E402,F403
from webapp.models.gateway import *  # noqa: E402,F403
from webapp.models.metrics import *  # noqa: E402,F403
from webapp.models.notifications import *  # noqa: E402,F403
from webapp.models.outbox import *  # noqa: E402,F403
from webapp.models.preferences import *  # noqa: E402,F403
from webapp.models.security import *  # noqa: E402,F403
from webapp.models.webhooks import *  # noqa: E402,F403

metadata = SQLModel.metadata
