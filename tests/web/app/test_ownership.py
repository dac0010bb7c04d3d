"""Another customer's things answer 404, on every detail route."""

import pytest

from tests.web.routes import DETAIL_ROUTES, first_id
from webapp import demo
from webapp.db import db


@pytest.mark.parametrize(("name", "template", "model"), DETAIL_ROUTES, ids=[r[0] for r in DETAIL_ROUTES])
def test_others_detail_pages_are_not_found(app, client, auth, seeded, name, template, model):
    with app.app_context():
        janes = first_id(db.session, model, seeded.jane_customer_id)
    auth.login(*demo.OMAR)
    assert client.get(template.format(id=janes)).status_code == 404
    auth.logout()
    auth.login()
    assert client.get(template.format(id=janes)).status_code == 200


@pytest.mark.parametrize(("name", "template", "model"), DETAIL_ROUTES, ids=[r[0] for r in DETAIL_ROUTES])
def test_missing_detail_pages_are_not_found(client, auth, seeded, name, template, model):
    auth.login()
    assert client.get(template.format(id=999999)).status_code == 404
