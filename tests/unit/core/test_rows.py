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


def test_some_of_a_tables_columns_stand_for_it_and_answer_only_those_names():
    some = rows.Some(_PRICES, "id", "amount")
    assert [c.name for c in rows.columns(_PLANS, some)] == ["id", "name", "id", "amount"]
    plan, price = rows.split((7, "Pro", 70, 1500), _PLANS, some)
    assert (plan.name, price.id, price.amount) == ("Pro", 70, 1500)
    assert [f.name for f in dataclasses.fields(price)] == ["id", "amount"]
    with pytest.raises(AttributeError):
        price.plan_id  # noqa: B018  a column the list did not read
    assert rows.split((7, "Pro", None, None), _PLANS, some)[1] is None  # keyed by its id


def test_some_refuses_an_unknown_column_and_a_missing_primary_key():
    with pytest.raises(ValueError, match="no column price"):
        rows.Some(_PRICES, "id", "price")
    with pytest.raises(ValueError, match="primary key"):
        rows.Some(_PRICES, "plan_id", "amount")
