"""What the page says (issue 13): periods and what they are compared against, headlines
that lead with the verdict, area names and order, missing months, the basis line, the
CSV of the table. Pure functions, hand-checkable values."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipeline import report, stats, trends
from pipeline.trends import Span, compare_counts, period_spans
from ui import words

AS_OF = date(2020, 11, 29)


@pytest.mark.parametrize(
    ("period", "current", "previous"),
    [
        ("ytd", Span(date(2020, 1, 1), AS_OF), Span(date(2019, 1, 1), date(2019, 11, 29))),
        (
            "28d",
            Span(date(2020, 11, 2), AS_OF),
            Span(date(2019, 11, 2), date(2019, 11, 29)),  # the same 28 days a year earlier
        ),
        (
            "28d-prev",
            Span(date(2020, 11, 2), AS_OF),
            Span(date(2020, 10, 5), date(2020, 11, 1)),  # the 28 days before
        ),
        (
            "12m",
            Span(date(2019, 12, 1), AS_OF),
            Span(date(2018, 11, 30), date(2019, 11, 29)),  # 365 days ending a year earlier
        ),
    ],
    ids=["ytd", "28-days", "28-days-previous", "12-months"],
)
def test_period_spans_compare_with_what_they_say(period, current, previous) -> None:
    assert period_spans(period, AS_OF) == (current, previous)


def test_28_days_across_a_leap_day_stay_28_days() -> None:
    current, previous = period_spans("28d", date(2025, 3, 5))
    assert (current.days, previous.days) == (28, 28)
    assert previous == Span(date(2024, 2, 7), date(2024, 3, 5))


def test_every_period_has_words_for_itself_and_its_comparison() -> None:
    assert set(report.PERIOD_WORDS) == set(trends.PERIOD_CHOICES)
    assert report.PERIOD_WORDS["28d"].against == "the same 28 days last year"
    assert report.PERIOD_WORDS["ytd"].against == "last year"


def row(current: int, previous: int) -> dict[str, object]:
    return compare_counts(current, previous, 333, 333)


@pytest.mark.parametrize(
    ("counts", "period", "sentence"),
    [
        ((4, 3), "ytd", "Too few to judge: 4 homicides this year, 3 last year."),
        ((0, 0), "ytd", "Too few to judge: 0 homicides this year, 0 last year."),
        (
            (3, 2),
            "28d",
            "Too few to judge: 3 homicides in the last 28 days, 2 in the same 28 days last year.",
        ),
        (
            (31, 40),
            "ytd",
            "Within normal variation: 31 homicides this year against 40 last year (-22 %).",
        ),
        (
            (12, 0),
            "custom",
            "Likely increase: homicides are up from none in this range, 12 against 0 on the "
            "same dates last year.",
        ),
        (
            (70, 34),
            "ytd",
            "Likely increase: homicides are up 106 % this year, 70 against 34 last year.",
        ),
        (
            (20, 60),
            "12m",
            "Likely decrease: homicides are down 67 % in the last 12 months, 20 against 60 in "
            "the 12 months before.",
        ),
    ],
    ids=["4-vs-3", "none", "28-days-small", "noise", "from-none", "rise", "fall"],
)
def test_headlines_lead_with_the_verdict(counts, period, sentence) -> None:
    got = report.summary_sentence(row(*counts), "homicides", words=report.PERIOD_WORDS[period])
    assert got == sentence


def test_small_counts_never_get_a_percentage() -> None:
    for current in range(stats.MIN_COUNT):
        for previous in range(stats.MIN_COUNT):
            sentence = report.summary_sentence(row(current, previous), "shootings")
            assert sentence.startswith("Too few to judge") and "%" not in sentence


@pytest.mark.parametrize(
    ("level", "keys", "labels", "order"),
    [
        ("district", ["17", "20", "2", "10", "1"], {}, ["1", "2", "10", "17", "20"]),
        ("beat", ["1713", "0111", "2533", "0312"], {}, ["0111", "0312", "1713", "2533"]),
        ("zip_code", ["60707", "60018", "60625"], {}, ["60018", "60625", "60707"]),
        (
            "community_area",
            ["DOUGLAS", "OAKLAND", "ALBANY PARK", "O'HARE"],
            {},
            ["ALBANY PARK", "DOUGLAS", "O'HARE", "OAKLAND"],
        ),
        (
            "neighborhood",
            ["WICKER PARK", "ALBANY PARK"],
            {"WICKER PARK": "Wicker Park", "ALBANY PARK": "Albany Park"},
            ["ALBANY PARK", "WICKER PARK"],
        ),
    ],
    ids=["districts", "beats", "zips", "community-areas", "neighbourhoods"],
)
def test_area_lists_are_sorted_as_people_look(level, keys, labels, order) -> None:
    assert words.sorted_areas(level, keys, labels) == order


@pytest.mark.parametrize(
    ("level", "key", "label", "name"),
    [
        ("community_area", "ALBANY PARK", "ALBANY PARK", "Albany Park"),
        ("community_area", "OHARE", "O'HARE", "O'Hare"),
        ("community_area", "MCKINLEY PARK", "MCKINLEY PARK", "McKinley Park"),
        ("community_area", "WEST GARFIELD PARK", None, "West Garfield Park"),
        ("neighborhood", "PRINTER'S ROW", "Printer's Row", "Printer's Row"),  # kept as written
        ("district", "17", "17TH", "District 17 (17TH)"),
        ("beat", "1713", "1713", "Beat 1713"),
        ("zip_code", "60625", "60625", "ZIP code 60625"),
        (None, "", None, "Chicago"),
    ],
)
def test_area_names_are_title_case_without_prefixes(level, key, label, name) -> None:
    assert words.area_name(level, key, label) == name


@pytest.mark.parametrize(
    ("months", "text"),
    [
        (["2023-01"], "Jan 2023"),
        (
            [f"2023-{m:02d}" for m in range(1, 13)] + [f"2024-{m:02d}" for m in range(1, 9)],
            "Jan 2023 – Aug 2024 (20 months)",
        ),
        (["2023-01", "2023-02", "2023-05"], "Jan 2023 – Feb 2023 (2 months), May 2023"),
    ],
)
def test_missing_months_read_as_ranges(months, text) -> None:
    assert words.month_ranges(months) == text


def test_missing_months_inside_a_span() -> None:
    span = Span(date(2023, 11, 20), date(2024, 2, 3))
    assert words.missing_months({"2023-12", "2024-02"}, span) == ["2023-11", "2024-01"]
    assert words.all_missing(words.missing_months(set(), span), span)
    assert words.gap_weeks(Span(date(2024, 1, 25), date(2024, 2, 14)), ["2024-02"]) == {2, 3}


@pytest.mark.parametrize(
    ("latest", "today", "stale"),
    [
        (date(2026, 8, 3), date(2026, 8, 17), False),  # 14 days: fine
        (date(2026, 8, 3), date(2026, 8, 18), True),
        (date(2026, 8, 3), date(2026, 11, 27), True),
    ],
)
def test_stale_after_14_days(latest, today, stale) -> None:
    note = words.stale_note(latest, today)
    assert bool(note) is stale
    if stale:
        assert f"{(today - latest).days} days before today" in note


def table(*counts: tuple[int, int]) -> pd.DataFrame:
    kinds = ["shootings", "fatal_shootings", "nonfatal_shootings", "homicides"]
    return pd.DataFrame(
        [
            {"kind": k, **compare_counts(c, p, 334, 334)}
            for k, (c, p) in zip(kinds, counts, strict=True)
        ]
    )


def test_the_basis_line_says_how_much_and_why() -> None:
    recorded = table((70, 34), (8, 5), (62, 29), (11, 5))
    located = table((69, 34), (7, 5), (62, 29), (10, 5))
    line = words.basis_difference(
        recorded, located, "recorded", "district", "District 17", report.PERIOD_WORDS["ytd"]
    )
    assert line == (
        "Counted by CPD's recorded codes. By location on the current map, District 17 would "
        "show 69 shootings this year (1 fewer), 7 fatal shootings this year (1 fewer) and 10 "
        "homicides this year (1 fewer): records keep the district CPD wrote at the time, and "
        "a few lie just across its current boundary (often on a border street)."
    )
    assert (
        words.basis_difference(
            recorded, recorded, "recorded", "district", "District 17", report.PERIOD_WORDS["ytd"]
        )
        == ""
    )
    assert (
        words.basis_difference(
            recorded, None, "geometry", "zip_code", "ZIP code 60625", report.PERIOD_WORDS["ytd"]
        )
        == ""
    )


def test_the_table_csv_rows_carry_their_context() -> None:
    compstat = table((70, 34), (8, 5), (62, 29), (11, 5))
    out = report.export_table(
        compstat,
        area="17",
        area_name="District 17",
        level="district",
        period="28d",
        current=Span(date(2020, 11, 2), AS_OF),
        previous=Span(date(2019, 11, 2), date(2019, 11, 29)),
        measure="incidents",
        basis="recorded",
    )
    first = out.iloc[0].to_dict()
    assert first["compared_with"] == "same 28 days last year"
    assert (first["period_start"], first["comparison_end"]) == ("2020-11-02", "2019-11-29")
    assert first["pct_change"] == 105.9 and first["p_value"] == float(f"{first['p_value']:.3g}")
    incomplete = report.export_table(
        trends.mark_incomplete(compstat),
        area="",
        area_name="Chicago",
        level="district",
        period="ytd",
        current=Span(date(2024, 1, 1), date(2024, 10, 1)),
        previous=Span(date(2023, 1, 1), date(2023, 10, 1)),
        measure="victims",
        basis="recorded",
        missing=(False, True),
    )
    assert incomplete["level"].eq("city").all() and incomplete["area"].eq("city").all()
    assert incomplete[["previous", "change", "pct_change", "p_value"]].isna().all().all()
    assert incomplete["current"].tolist() == [70, 8, 62, 11]


def test_the_page_table_never_reads_new_across_a_hole() -> None:
    spans = (Span(date(2024, 9, 4), date(2024, 10, 1)), Span(date(2023, 9, 4), date(2023, 10, 1)))
    shown = words.compstat_display(
        trends.mark_incomplete(table((7, 0), (1, 0), (6, 0), (1, 0))),
        report.PERIOD_WORDS["28d"],
        spans,
        missing=(False, True),
        partial=(True, True),
    )
    assert list(shown.columns) == [
        "last 28 days (4 Sep – 1 Oct 2024)",
        "same 28 days last year (4 Sep – 1 Oct 2023)",
        "change",
        "verdict",
    ]
    assert list(shown.loc["shootings"]) == [
        "7 (incomplete)",
        "no data",
        "not comparable",
        "incomplete data",
    ]


@pytest.mark.parametrize("gaps", [(set(), set()), ({2}, {1, 3})], ids=["whole", "holes"])
def test_the_weekly_charts_long_form_is_melts(gaps) -> None:
    """`charts.long_form` builds what `melt` builds (weeks left out stay null), only quicker."""
    from ui import charts

    weekly = pd.DataFrame(
        {"this period": [3, 0, 5, 1], "same period last year": [2, 2, 0, 4]},
        index=pd.Index(range(1, 5), name="week"),
    )
    weekly["this period, 4-week mean"] = weekly["this period"].rolling(4, 1).mean().round(1)
    named = charts.weekly_named(weekly, ("now (1-28 Jan)", "then", "mean"), gaps)
    melted = named.reset_index().melt(id_vars="week", var_name="series", value_name="count")
    pd.testing.assert_frame_equal(charts.long_form(named), melted)
    assert charts.long_form(named)["count"].isna().sum() == sum(len(g) for g in gaps)
