"""COPY exports stay exact for text that holds newlines, quotes and commas, at any size."""

import psycopg2
import pyarrow as pa
import pytest

from northstar_platform.resources.source_db import SourceDatabaseResource

pytestmark = pytest.mark.integration


def test_text_with_newlines_survives_an_export_larger_than_one_parse_block(fresh_pg_dsn: str):
    with psycopg2.connect(fresh_pg_dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "create table notes as select g as id, "
            "repeat('x', 40) || E'\\nsecond line, \"quoted\"\\r\\n' || g as note, "
            "case when g % 7 = 0 then null when g % 11 = 0 then '' else 'v' end as maybe "
            "from generate_series(1, 60000) g"
        )
    source = SourceDatabaseResource(dsn=fresh_pg_dsn)
    schema = pa.schema([("id", pa.int64()), ("note", pa.string()), ("maybe", pa.string())])
    try:
        table = source.copy_to_arrow("select id, note, maybe from notes order by id", (), schema)
    finally:
        source.close()
    assert table.num_rows == 60000
    rows = table.slice(76, 2).to_pylist()  # ids 77 (7 | 77) and 78
    assert rows == [
        {"id": 77, "note": "x" * 40 + '\nsecond line, "quoted"\r\n77', "maybe": None},
        {"id": 78, "note": "x" * 40 + '\nsecond line, "quoted"\r\n78', "maybe": "v"},
    ]
    assert table.column("maybe").to_pylist()[10] == ""  # id 11: empty string, not NULL
