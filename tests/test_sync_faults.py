"""The fault suite: a misbehaving portal or a bad file never costs stored rows.

Each test reproduces one way a sync used to exit 0 after deleting rows, or to
fail with a traceback, against the local SODA server or a file source, and
checks the store's row count and id checksum before and after.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.config import LAYERS
from pipeline.errors import IncompleteReadError, SchemaDriftError, ShrinkError
from pipeline.queries import latest_date
from pipeline.schema import RULE_FUTURE_DATE, RULE_OUTSIDE, RULE_TOO_EARLY
from pipeline.settings import Settings
from pipeline.store import Store
from pipeline.sync import SyncRequest, run_sync
from tests.conftest import VICTIMS, api_row, tiny_layers, write_layers
from tests.soda_server import Fault, SodaServer

LAYER_IDS = {layer: level.dataset for layer, level in LAYERS.items()}
N_ROWS = 60  # enough for the drift rules (50 rows, 20 values) to apply


def rows(n: int = N_ROWS, **overrides: Any) -> list[dict[str, Any]]:
    return [api_row(i, **overrides) for i in range(n)]


@pytest.fixture
def server():
    geojson = {LAYER_IDS[layer]: fc for layer, fc in tiny_layers().items()}
    with SodaServer(rows={VICTIMS: rows()}, geojson=geojson) as srv:
        yield srv


@pytest.fixture
def cfg(settings: Settings, server: SodaServer) -> Settings:
    return replace(settings, domain=server.url)


def fingerprint(settings: Settings) -> tuple[int, int]:
    """Rows in the victims table and an order-free checksum of their ids."""
    with Store(settings.store_path).read() as con:
        row = con.execute(
            "SELECT count(*), coalesce(sum(hash(unique_id)), 0) FROM victims"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def full_sync(settings: Settings) -> list[Any]:
    return run_sync(settings, SyncRequest(full=True))


def quarantine_reasons(settings: Settings) -> list[str]:
    with Store(settings.store_path).read() as con:
        return [r[0] for r in con.execute("SELECT reasons FROM quarantine").fetchall()]


def unchanged_after(
    settings: Settings, sync: Callable[[], object], error: type[Exception], match: str
) -> None:
    """`sync` fails with `error` matching `match`, and the store is as it was."""
    before = fingerprint(settings)
    with pytest.raises(error, match=match):
        sync()
    assert fingerprint(settings) == before


# 1. Short pages ----------------------------------------------------------------


def test_a_page_cut_short_once_is_read_again(cfg, server) -> None:
    full_sync(cfg)
    before = fingerprint(cfg)
    # The first page of rows cut to 2 of 7: the read goes on past it by keyset.
    server.faults = [Fault(rows_kept=2, when=lambda r: r.is_row_page)]
    full_sync(cfg)
    assert not server.faults, "the fault was served"
    assert fingerprint(cfg) == before


def test_a_server_that_caps_its_pages_is_read_to_the_end(cfg, server) -> None:
    server.max_limit = 3  # asked for 7, it answers 3 at a time
    full_sync(cfg)
    assert fingerprint(cfg)[0] == N_ROWS


def test_a_read_that_never_reconciles_changes_nothing(cfg, server) -> None:
    full_sync(cfg)

    def delete_one_row_per_page(pages_served: int) -> None:
        server.rows[VICTIMS].pop()  # the portal keeps changing under the read

    server.after_page = delete_one_row_per_page
    unchanged_after(
        cfg,
        lambda: full_sync(cfg),
        IncompleteReadError,
        r"read \d+ rows but the portal counts \d+ rows before the read and \d+ after it; "
        r"gave up after 3 whole reads\. Nothing in the store was changed",
    )


# 2. Nothing valid, or nothing returned -------------------------------------------


@pytest.mark.parametrize(
    ("override", "column"),
    [
        ({"gunshot_injury_i": True}, "gunshot_injury_i"),
        ({"date": 1735689600000}, "date"),
        ({"date": "01/31/2025 23:05"}, "date"),
    ],
    ids=["flag-became-boolean", "date-became-epoch-ms", "date-in-another-format"],
)
def test_a_retyped_column_is_drift_not_mass_quarantine(cfg, server, override, column) -> None:
    full_sync(cfg)
    server.rows[VICTIMS] = rows(**override)
    unchanged_after(
        cfg, lambda: full_sync(cfg), SchemaDriftError, rf"no value of column\(s\) '{column}'"
    )


def test_an_empty_dataset_never_empties_the_store(cfg, server) -> None:
    full_sync(cfg)
    server.rows[VICTIMS] = []
    unchanged_after(cfg, lambda: full_sync(cfg), ShrinkError, "would empty the store")


def test_a_full_read_that_loses_many_rows_needs_allow_shrink(cfg, server) -> None:
    full_sync(cfg)
    server.rows[VICTIMS] = rows()[:30]  # half of them gone upstream
    unchanged_after(
        cfg, lambda: full_sync(cfg), ShrinkError, r"remove or quarantine 30 of the 60 .*50\.0%"
    )
    full_sync(replace(cfg, allow_shrink=True))
    assert fingerprint(cfg)[0] == 30


def test_a_few_removals_pass_the_guard(cfg, server) -> None:
    full_sync(cfg)
    server.rows[VICTIMS] = rows()[:58]  # 2 of 60 = 3.3 %, under the 5 % default
    full_sync(cfg)
    assert fingerprint(cfg)[0] == 58


def test_mass_quarantine_is_refused_like_removal(cfg, server) -> None:
    full_sync(cfg)
    server.rows[VICTIMS] = [
        api_row(i, case_number=None) if i < 10 else api_row(i) for i in range(60)
    ]
    unchanged_after(cfg, lambda: full_sync(cfg), ShrinkError, "10 of the 60")


# 3. One impossible row is that row's problem --------------------------------------


@pytest.mark.parametrize(
    "point",
    [{"latitude": "999"}, {"latitude": "1899123.5", "longitude": "1150000.2"}],
    ids=["latitude-999", "state-plane-feet"],
)
def test_an_impossible_point_is_quarantined_not_fatal(cfg, server, point) -> None:
    server.rows[VICTIMS][5] = api_row(5, **point)
    full_sync(cfg)
    assert fingerprint(cfg)[0] == N_ROWS - 1
    assert quarantine_reasons(cfg) == [RULE_OUTSIDE]


@pytest.mark.parametrize(
    ("when", "rule"),
    [("2099-07-04T12:00:00", RULE_FUTURE_DATE), ("1899-07-04T12:00:00", RULE_TOO_EARLY)],
    ids=["future", "before-the-dataset"],
)
def test_an_implausible_date_is_quarantined_and_never_the_default_as_of(
    cfg, server, when, rule
) -> None:
    server.rows[VICTIMS][7] = api_row(7, date=when)
    full_sync(cfg)
    assert quarantine_reasons(cfg) == [rule]
    assert latest_date(Store(cfg.store_path)).year == 2025


# 4. Renamed columns ---------------------------------------------------------------


@pytest.mark.parametrize("column", ["district", "beat", "community_area", "block", "sex", "age"])
def test_a_renamed_column_is_drift_from_the_portal(cfg, server, column) -> None:
    full_sync(cfg)
    server.rows[VICTIMS] = [
        {(f"{column}_v2" if k == column else k): v for k, v in r.items()} for r in rows()
    ]
    unchanged_after(
        cfg, lambda: full_sync(cfg), SchemaDriftError, rf"missing column\(s\) '{column}'"
    )


def test_a_column_null_in_every_row_is_not_drift(cfg, server) -> None:
    """JSON leaves nulls out, so no row names an all-null column; the portal's field
    list does."""
    server.rows[VICTIMS] = rows(age=None, sex=None)
    full_sync(cfg)
    assert fingerprint(cfg)[0] == N_ROWS


def test_a_renamed_column_is_drift_even_in_a_small_read(cfg, server) -> None:
    full_sync(cfg)
    server.rows[VICTIMS][0] = api_row(0, **{":updated_at": "2026-03-01T00:00:00.000Z"})
    for row in server.rows[VICTIMS]:
        row["ward_number"] = row.pop("ward")
    unchanged_after(
        cfg, lambda: run_sync(cfg, SyncRequest()), SchemaDriftError, r"missing column\(s\) 'ward'"
    )


def test_a_renamed_column_is_drift_in_a_file_unless_optional(settings, tmp_path) -> None:
    path = tmp_path / "victims.csv"
    frame = pd.DataFrame.from_records(rows()).drop(columns="location")
    frame.rename(columns={"district": "dist"}).to_csv(path, index=False)
    request = SyncRequest(victims=[path], boundaries=write_layers(tmp_path / "layers"))
    with pytest.raises(
        SchemaDriftError, match=rf"{path}: source is missing column\(s\) 'district'"
    ):
        run_sync(settings, request)
    optional = replace(
        settings, optional_file_columns=(*settings.optional_file_columns, "district")
    )
    run_sync(optional, request)
    assert fingerprint(settings)[0] == N_ROWS


# 5. Rows changing while a read pages ---------------------------------------------


def test_a_row_updated_during_an_incremental_read_is_applied(cfg, server) -> None:
    full_sync(cfg)
    server.rows[VICTIMS][40] = api_row(40, **{":updated_at": "2026-02-01T00:00:00.000Z"})
    server.rows[VICTIMS][41] = api_row(41, **{":updated_at": "2026-02-01T00:00:00.000Z"})

    def update_row_0_after_first_page(pages_served: int) -> None:
        if pages_served == 1:
            server.rows[VICTIMS][0] = api_row(
                0, block="MOVED", **{":updated_at": "2026-02-02T00:00:00.000Z"}
            )

    server.pages_served = 0
    server.after_page = update_row_0_after_first_page
    run_sync(cfg, SyncRequest())
    server.after_page = None
    with Store(cfg.store_path).read() as con:
        block = con.execute("SELECT block FROM victims WHERE unique_id = ?", [api_row(0)["cpd_id"]])
        assert block.fetchall() == [("MOVED",)]
    report = next(r for r in run_sync(cfg, SyncRequest()) if r.dataset == "victims")
    assert report.rows_updated == 0  # the watermark moved past it: nothing left behind


def test_a_row_deleted_during_a_full_read_removes_only_that_row(cfg, server) -> None:
    full_sync(cfg)
    gone = server.rows[VICTIMS][3]["cpd_id"]

    def delete_row_3_after_first_page(pages_served: int) -> None:
        if pages_served == 1:
            server.rows[VICTIMS] = [r for r in server.rows[VICTIMS] if r["cpd_id"] != gone]

    server.pages_served = 0
    server.after_page = delete_row_3_after_first_page
    full_sync(cfg)
    with Store(cfg.store_path).read() as con:
        ids = {r[0] for r in con.execute("SELECT unique_id FROM victims").fetchall()}
    assert ids == {r["cpd_id"] for r in server.rows[VICTIMS]}
    assert gone not in ids and len(ids) == N_ROWS - 1


def test_the_test_server_refuses_what_the_portal_cannot_compile(server) -> None:
    import requests

    url = f"{server.url}/resource/{VICTIMS}.json"
    answer = requests.get(url, params={"$where": "district = '17'"}, timeout=5)
    assert answer.status_code == 400


# 8. The app token stays with the portal ---------------------------------------------


def test_the_token_is_not_sent_to_another_host_on_redirect(cfg, server) -> None:
    full_sync(cfg)  # boundaries stored: the next sync's first request is the count
    server.requests.clear()
    with SodaServer(rows={VICTIMS: rows()}) as elsewhere:
        path = f"/resource/{VICTIMS}.json?$select=count(*) AS n"
        server.faults = [Fault(302, headers={"Location": elsewhere.url + path})]
        run_sync(replace(cfg, app_token="tok-SECRET"), SyncRequest())

    def tokens(requests: list[Any]) -> list[str | None]:
        return [{k.lower(): v for k, v in r.headers.items()}.get("x-app-token") for r in requests]

    assert elsewhere.requests, "the redirect was followed"
    assert tokens(elsewhere.requests) == [None] * len(elsewhere.requests)
    assert tokens(server.requests) == ["tok-SECRET"] * len(server.requests)


# 10. One line, never a traceback ---------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        Fault(500, body="[1, 2]"),
        Fault(body="[]", content_type=None),
        Fault(body=""),
    ],
    ids=["5xx-with-a-json-list", "200-without-content-type", "empty-200"],
)
def test_odd_responses_are_retried(cfg, server, fault) -> None:
    server.faults = [replace(fault, when=lambda r: r.is_row_page)]
    full_sync(cfg)
    assert not server.faults, "the fault was served"
    assert fingerprint(cfg)[0] == N_ROWS


def sync_cli(data: Path, victims: Path, layers: dict[str, Path]) -> list[str]:
    argv = ["sync", "--data-dir", str(data), "--victims", str(victims)]
    for layer, path in layers.items():
        argv += [f"--{layer.replace('_', '-')}", str(path)]
    return argv


def write_gzip_cut_short(path: Path) -> None:
    frame = pd.DataFrame.from_records(rows()).drop(columns="location")
    whole = gzip.compress(frame.to_csv(index=False).encode())
    path.write_bytes(whole[: len(whole) // 2])


@pytest.mark.parametrize(
    ("name", "write", "message"),
    [
        ("v.csv.gz", write_gzip_cut_short, "is cut short or not really gzip"),
        ("v.csv", lambda p: p.write_bytes(b""), "is empty"),
        ("v.csv", lambda p: p.write_text("cpd_id,date,case_number\n"), "holds no rows"),
        ("v.json", lambda p: p.write_text('{"not": "rows"}'), "expected a JSON list"),
    ],
    ids=["truncated-gzip", "zero-bytes", "header-only", "json-object"],
)
def test_a_bad_file_is_one_line_naming_it(tmp_path, capsys, name, write, message) -> None:
    path = tmp_path / name
    write(path)
    code = main(sync_cli(tmp_path / "data", path, write_layers(tmp_path / "layers")))
    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1 and str(path) in err and message in err
    assert "Traceback" not in err


def test_the_cli_reports_a_refused_shrink_in_one_line(tmp_path, capsys) -> None:
    layers = write_layers(tmp_path / "layers")
    path = tmp_path / "v.csv"
    pd.DataFrame.from_records(rows()).drop(columns="location").to_csv(path, index=False)
    assert main(sync_cli(tmp_path / "data", path, layers)) == 0
    pd.DataFrame.from_records(rows(10)).drop(columns="location").to_csv(path, index=False)
    capsys.readouterr()
    assert main(sync_cli(tmp_path / "data", path, layers)) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--allow-shrink" in err
    assert main([*sync_cli(tmp_path / "data", path, layers), "--allow-shrink"]) == 0


# 11. Names, by allowlist -------------------------------------------------------------


def test_a_renamed_name_column_is_never_stored(cfg, server, capsys) -> None:
    server.rows[VICTIMS] = rows(victim_full_name="JANE SECRET", case_number=None)[:1] + rows()[1:]
    reports = full_sync(cfg)
    with duckdb.connect(str(cfg.store_path), read_only=True) as con:
        dump = json.dumps(con.execute("SELECT * FROM quarantine").fetchall(), default=str)
    assert "SECRET" not in dump and "JANE" not in dump
    victims = next(r for r in reports if r.dataset == "victims")
    assert "victim_full_name" in victims.summary()
