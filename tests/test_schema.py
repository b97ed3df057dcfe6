"""Parsing and validation: one canonical table, every rejected row quarantined with its reasons."""

from __future__ import annotations

import json
from typing import Any

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import assume, given, settings

from pipeline.errors import SchemaDriftError
from pipeline.schema import (
    RAW_KEPT_COLUMNS,
    RULE_BAD_DATE,
    RULE_BAD_FLAG,
    RULE_BAD_NUMBER,
    RULE_MISSING_CASE,
    RULE_MISSING_COORDS,
    RULE_MISSING_ID,
    RULE_OUTSIDE,
    RULE_SUPERSEDED,
    VICTIM_COLUMNS,
    RawPage,
    combine_pages,
    parse_numbers,
    parse_page,
    validate_victims,
)
from tests.conftest import api_row

BROKEN: dict[int, tuple[dict[str, Any], str]] = {  # row index -> (override, rule it breaks)
    20: ({"cpd_id": None}, RULE_MISSING_ID),
    21: ({"date": "31/31/2025 25:00"}, RULE_BAD_DATE),
    22: ({"latitude": None}, RULE_MISSING_COORDS),
    23: ({"latitude": "0", "longitude": "0"}, RULE_OUTSIDE),
    24: ({"longitude": "west"}, RULE_BAD_NUMBER),
    25: ({"beat": "17A3"}, RULE_BAD_NUMBER),
    26: ({"gunshot_injury_i": "MAYBE"}, RULE_BAD_FLAG),
    27: ({"case_number": " "}, RULE_MISSING_CASE),
}


def thirty_rows(shape: str = "frame") -> RawPage:
    """30 API-shaped rows: 20 good, 8 broken one way each, 2 repeats of row 0's id."""
    rows = [api_row(i, **BROKEN.get(i, ({}, ""))[0]) for i in range(28)]
    older = api_row(0, **{":updated_at": "2025-12-01T00:00:00.000Z", "block": "OLD BLOCK"})
    newer = api_row(0, **{":updated_at": "2026-02-01T00:00:00.000Z", "block": "NEW BLOCK"})
    return as_page([*rows, older, newer], shape)


def as_page(rows: list[dict[str, Any]], shape: str) -> RawPage:
    """Rows as a source hands them over: API JSON (nulls left out, as Socrata does) or a
    frame of CSV text."""
    if shape == "json":
        return [{k: v for k, v in row.items() if v is not None} for row in rows]
    return pd.DataFrame.from_records(rows)


SHAPES = pytest.mark.parametrize("shape", ["json", "frame"])


@SHAPES
def test_good_rows_are_kept_and_broken_rows_quarantined_with_their_reason(shape: str) -> None:
    result = validate_victims(thirty_rows(shape))
    assert len(result.victims) + len(result.quarantine) == 30
    assert len(result.victims) == 20  # rows 1..19 and the newest version of row 0
    assert list(result.victims.columns) == list(VICTIM_COLUMNS)
    reasons = dict(
        zip(
            result.quarantine["raw"].map(lambda r: json.loads(r).get(":id")),
            result.quarantine["reasons"],
            strict=True,
        )
    )
    for index, (_, rule) in BROKEN.items():
        assert reasons[f"row-{index:05d}"] == rule
    assert result.rule_counts[RULE_SUPERSEDED] == 2
    assert result.rule_counts[RULE_BAD_NUMBER] == 2


@SHAPES
def test_duplicate_ids_keep_the_latest_update(shape: str) -> None:
    victims = validate_victims(thirty_rows(shape)).victims
    row0 = victims.loc[victims["unique_id"] == "SHOOT-JJ100000-#1"]
    assert row0["block"].tolist() == ["NEW BLOCK"]


@SHAPES
def test_names_never_leave_validation(shape: str) -> None:
    result = validate_victims(thirty_rows(shape))
    for frame in (result.victims, result.quarantine):
        text = frame.astype(str).to_csv()
        assert "SECRETFIRST" not in text and "SECRETLAST" not in text
        assert not any("homicide_victim" in c for c in frame.columns)


def test_quarantine_keeps_each_json_row_as_received_in_known_columns_only() -> None:
    rows = thirty_rows("json")
    assert isinstance(rows, list)
    quarantined = validate_victims(rows).quarantine
    sent = [{k: v for k, v in row.items() if k in RAW_KEPT_COLUMNS} for row in rows]
    assert len(quarantined) == 10
    assert all(json.loads(text) in sent for text in quarantined["raw"])


@SHAPES
def test_a_renamed_name_column_never_reaches_the_quarantine(shape: str) -> None:
    """An allowlist, not a prefix: a name under a header nobody foresaw is not kept."""
    rows = [api_row(i, victim_full_name="JANE SECRET", latitude=None) for i in range(3)]
    validated = validate_victims(as_page(rows, shape))
    assert len(validated.quarantine) == 3
    assert not validated.quarantine["raw"].str.contains("SECRET").any()
    assert "victim_full_name" in validated.ignored_columns
    assert "homicide_victim_last_name" in validated.ignored_columns


def test_json_numbers_and_objects_are_read_as_text() -> None:
    row: dict[str, Any] = {
        **api_row(1),
        "latitude": 41.85,
        "longitude": -87.7,
        "ward": 7,
        "location": {"type": "Point", "coordinates": [-87.7, 41.85]},
    }
    victim = validate_victims([row]).victims.iloc[0]
    assert (victim["latitude"], victim["longitude"], victim["ward"]) == (41.85, -87.7, 7)


def test_types_and_codes() -> None:
    raw = pd.DataFrame.from_records(
        [api_row(2, district="08", beat="833", ward="7.0", victimization_primary="homicide")]
    )
    row = validate_victims(raw).victims.iloc[0]
    assert (row["district"], row["beat"], row["ward"]) == ("8", "0833", 7)
    assert row["fatal"] and row["gunshot"]
    assert row["occurred_at"] == pd.Timestamp("2025-03-03 02:15")
    assert row["source_updated_at"] == pd.Timestamp("2026-01-03 10:00")


def test_portal_export_shape_is_read() -> None:
    """Upper-case headers, `UNIQUE_ID`, 12-hour US dates: the portal's CSV export."""
    export = pd.DataFrame(
        {
            "CASE_NUMBER": ["JA1"],
            "DATE": ["01/31/2020 11:05:00 PM"],
            "BLOCK": ["0 E 1ST ST"],
            "VICTIMIZATION_PRIMARY": ["BATTERY"],
            "INCIDENT_PRIMARY": ["BATTERY"],
            "GUNSHOT_INJURY_I": ["YES"],
            "UNIQUE_ID": ["SHOOT-JA1-#1"],
            "DISTRICT": ["17"],
            "BEAT": ["1713"],
            "LATITUDE": ["41.95"],
            "LONGITUDE": ["-87.72"],
            "HOMICIDE_VICTIM_LAST_NAME": ["SECRETLAST"],
        }
    )
    row = validate_victims(export).victims.iloc[0]
    assert row["unique_id"] == "SHOOT-JA1-#1"
    assert row["occurred_at"] == pd.Timestamp("2020-01-31 23:05")


def test_old_and_new_id_names_coalesce_when_files_are_read_together() -> None:
    raw = pd.DataFrame({"unique_id": ["A", None], "cpd_id": [None, "B"]}).join(
        pd.DataFrame.from_records([api_row(1), api_row(2)]).drop(columns="cpd_id")
    )
    assert validate_victims(raw).victims["unique_id"].tolist() == ["A", "B"]


@pytest.mark.parametrize("renamed", ["date", "latitude", "case_number", "cpd_id"])
def test_schema_drift_is_an_error_not_a_quarantine(renamed: str) -> None:
    rows = pd.DataFrame.from_records([api_row(i) for i in range(60)])
    with pytest.raises(SchemaDriftError, match=f"missing column.*{renamed}.*received"):
        validate_victims(rows.rename(columns={renamed: f"{renamed}_v2"}))


def test_a_small_read_may_lack_a_nullable_column() -> None:
    """Socrata leaves null fields out: two rows without coordinates are not schema drift."""
    rows = pd.DataFrame.from_records([api_row(i) for i in range(2)]).drop(
        columns=["latitude", "longitude"]
    )
    result = validate_victims(rows)
    assert result.quarantine["reasons"].tolist() == ["missing coordinates"] * 2


@SHAPES
def test_pages_combine_like_one_read(shape: str) -> None:
    raw = thirty_rows(shape)
    whole = validate_victims(raw)
    paged = combine_pages([parse_page(raw[:13]), parse_page(raw[13:])])
    pd.testing.assert_frame_equal(paged.victims, whole.victims)
    pd.testing.assert_frame_equal(paged.quarantine, whole.quarantine)
    assert paged.rule_counts == whole.rule_counts


def test_input_is_not_modified() -> None:
    frame, rows = thirty_rows("frame"), thirty_rows("json")
    frame_before, rows_before = frame.copy(), json.dumps(rows)
    validate_victims(frame)
    validate_victims(rows)
    assert isinstance(frame, pd.DataFrame) and isinstance(frame_before, pd.DataFrame)
    pd.testing.assert_frame_equal(frame, frame_before)
    assert json.dumps(rows) == rows_before


cell = st.one_of(st.none(), st.text(max_size=6), st.sampled_from(["", "YES", "NO", "41.8"]))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "cpd_id": st.one_of(st.none(), st.sampled_from(["A", "B", "C", "D"])),
                "case_number": cell,
                "date": st.one_of(cell, st.just("2025-05-05T05:05:00")),
                "victimization_primary": cell,
                "gunshot_injury_i": cell,
                "latitude": st.one_of(cell, st.just("41.85")),
                "longitude": st.one_of(cell, st.just("-87.7")),
                "beat": cell,
                ":updated_at": st.one_of(st.none(), st.sampled_from(["2026-01-01", "2026-02-01"])),
            }
        ),
        min_size=1,
        max_size=25,
    ),
    st.sampled_from(["json", "frame"]),
)
def test_every_row_lands_in_exactly_one_table(rows: list[dict[str, Any]], shape: str) -> None:
    # API JSON leaves nulls out; a read where no row has an id or a date is schema drift.
    assume(
        shape == "frame" or all(any(r.get(c) is not None for r in rows) for c in ("cpd_id", "date"))
    )
    result = validate_victims(as_page(rows, shape))
    assert len(result.victims) + len(result.quarantine) == len(rows)
    assert result.victims["unique_id"].is_unique
    assert result.quarantine["reasons"].notna().all()


numeric_text = st.one_of(
    st.none(),
    st.floats(allow_nan=False).map(repr),
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(["17.0", "08", "+5", "1e3", ".5", "5.", "inf", "-Infinity", "0x10", "1_000"]),
    st.text(alphabet="0123456789.eE+-x_ ", max_size=6).map(str.strip),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(numeric_text, max_size=8))
def test_numbers_parse_as_pandas_would(texts: list[str | None]) -> None:
    # `parse_numbers` takes Arrow's fast parser when it can; it must agree with pandas'.
    text = pd.Series(texts, dtype="string").replace("", pd.NA)
    values, bad = parse_numbers(text)
    expected = pd.to_numeric(text, errors="coerce").astype("float64")
    pd.testing.assert_series_equal(values, expected, check_names=False, check_exact=True)
    assert bad.tolist() == (text.notna() & expected.isna()).tolist()
