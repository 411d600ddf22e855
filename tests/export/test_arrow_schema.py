"""The Arrow schema of a declared table is built once and always matches the table."""

from __future__ import annotations

import pyarrow as pa

from matomo_client.export.schema import VISITS, Column, ColumnType, Table
from matomo_client.export.sinks.arrow import arrow_schema


def test_the_schema_of_a_declared_table_follows_its_columns() -> None:
    schema = arrow_schema(VISITS)
    assert schema.names == VISITS.column_names
    assert schema.field("id_visit").type == pa.int64()
    assert arrow_schema(VISITS) is schema  # built once


def test_another_table_of_the_same_name_gets_its_own_schema() -> None:
    arrow_schema(VISITS)
    other = Table("visits", (Column("id_visit", ColumnType.TEXT),), ("id_visit",))
    schema = arrow_schema(other)
    assert schema.names == ["id_visit"]
    assert schema.field("id_visit").type == pa.string()
    assert arrow_schema(VISITS).names == VISITS.column_names
