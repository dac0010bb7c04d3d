"""The organization's row as a session has it (one installation, one organization).

The web request reads the organization in its login statement (accounts.request_facts) as a
read-only snapshot and `remember`s it here, so that a service asking for the organization
later in the same session (`get`) costs no statement of its own. A row the session loaded
through the ORM (to change it, say) comes first: it is the fresher of the two.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import object_session
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session

from webapp.models import Organization
from webapp.services.core.preferences.permissions import ORGANIZATION_ID

SNAPSHOT = "organization_snapshot"  # session.info key
_NONE = object()


def remember(session: Session, snapshot: Any) -> None:
    """Keep the organization (None: there is none yet) as a statement of `session` read it."""
    session.info[SNAPSHOT] = snapshot


def get(session: Session) -> Any:
    """The organization (an ORM row or a read-only snapshot with the same column names);
    None before the installation has one."""
    loaded = session.identity_map.get(identity_key(Organization, ORGANIZATION_ID))
    if loaded is not None:
        return loaded
    snapshot = session.info.get(SNAPSHOT, _NONE)
    if snapshot is not _NONE and not (isinstance(snapshot, Organization)
                                      and object_session(snapshot) is not session):
        return snapshot  # (a row loaded here that the session has let go of is read again)
    loaded = session.get(Organization, ORGANIZATION_ID)
    remember(session, loaded)  # held here: the identity map alone would let it go
    return loaded
