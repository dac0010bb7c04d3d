"""core/rows: one statement's columns of several tables as a frozen dataclass per table."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from webapp.services.core import rows

_META = MetaData()
_PLANS = Table("probe_plan", _META, Column("id", Integer, primary_key=True),
               Column("name", String))
_PRICES = Table("probe_price", _META, Column("plan_id", Integer),
                Column("id", Integer, primary_key=True), Column("amount", Integer))


def test_each_table_of_a_row_is_a_frozen_dataclass_with_its_column_names():
    plan, price = rows.split((7, "Pro", 7, 70, 1500), _PLANS, _PRICES)
    assert dataclasses.is_dataclass(plan) and type(plan).__name__ == "ProbePlanRow"
    assert (plan.id, plan.name) == (7, "Pro")
    assert (price.plan_id, price.id, price.amount) == (7, 70, 1500)
    assert plan == rows.row_type(_PLANS)(id=7, name="Pro")
    assert [f.name for f in dataclasses.fields(price)] == ["plan_id", "id", "amount"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.name = "Basic"


def test_the_missing_side_of_an_outer_join_is_none():
    assert rows.split((7, "Pro", None, None, None), _PLANS, _PRICES)[1] is None


def test_columns_lists_every_column_of_each_table_in_order():
    assert [c.name for c in rows.columns(_PLANS, _PRICES)] == [
        "id", "name", "plan_id", "id", "amount"]
