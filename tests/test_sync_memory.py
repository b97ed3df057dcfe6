"""The write of a sync gets the memory the read handed back (`release_read_memory`)."""

from __future__ import annotations

import duckdb

from pipeline.store import APPLY_MEMORY_LIMIT, WRITE_MEMORY_LIMIT
from pipeline.sync_victims import release_read_memory


def memory_limit(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


def test_release_read_memory_raises_duckdbs_limit_to_the_applys() -> None:
    reading = duckdb.connect(config={"memory_limit": WRITE_MEMORY_LIMIT})
    before = memory_limit(reading)
    release_read_memory(reading)
    expected = memory_limit(duckdb.connect(config={"memory_limit": APPLY_MEMORY_LIMIT}))
    assert memory_limit(reading) == expected
    assert expected != before  # the write's limit is not the read's
