"""The resident's answer card in words, and the map labels' contrast (WCAG 2)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from geo.maplayers import CHANGE_COLOURS, COUNT_COLOURS, NO_DATA
from ui import mapview
from ui.search import (
    answer_sentences,
    matched_words,
    radius_words,
    reference_line,
    ring_of,
    selected_area,
)


def near_answer(current: int, previous: int, verdict: str, radius: int = 400) -> dict[str, Any]:
    """The shape `pipeline.where.answer` gives for a point (fields the card reads)."""
    counts = {"current": current, "previous": previous, "verdict": verdict}
    return {
        "query": "41.97,-87.71",
        "as_of": "2020-11-26",
        "match": {"kind": "address", "label": "3401 W Foster Ave", "lat": 41.97, "lon": -87.71},
        "areas": {"district": "17", "beat": "1712", "community_area": "NORTH PARK"},
        "nearby": {"radius_m": radius, "victims": counts, "incidents": counts},
        "compare": [],
    }


def area_answer(rows: list[tuple[str, int, int, str]]) -> dict[str, Any]:
    """A name match: one compare row per (community area key, current, previous, verdict)."""
    return {
        "query": "x",
        "as_of": "2020-11-26",
        "match": {"kind": "community_area", "label": "Bronzeville"},
        "areas": {
            "matched": [{"level": "community_area", "key": k} for k, *_ in rows],
            "community_areas": [
                {"key": k, "label": k.title(), "share": 1 / len(rows)} for k, *_ in rows
            ],
            "districts": [{"key": "2", "label": "2Nd", "share": 1.0}],
        },
        "compare": [
            {"level": "community_area", "area": k, "current": c, "previous": p, "verdict": v}
            for k, c, p, v in rows
        ],
    }


def test_a_point_reads_as_one_plain_sentence() -> None:
    found = near_answer(3, 5, "too few to judge")
    assert answer_sentences(found, "3401 W Foster Ave") == [
        "Shootings within two blocks of 3401 W Foster Ave: 3 this year, 5 last year by "
        "26 Nov; too few to judge."
    ]
    assert reference_line(found) == "Police district 17, beat 1712, North Park community area."
    assert ring_of(found) == (41.97, -87.71, 400.0)
    assert selected_area(found) == ("community_area", "NORTH PARK")


def test_an_area_reads_with_its_verdict_and_the_words_typed() -> None:
    found = area_answer([("ALBANY PARK", 61, 28, "likely increase")])
    assert answer_sentences(found, "Albany Park") == [
        "Albany Park: 61 this year against 28 last year by 26 Nov; a likely increase."
    ]
    assert ring_of(found) is None
    assert selected_area(found) == ("community_area", "ALBANY PARK")


def test_an_alias_of_two_areas_names_each_part() -> None:
    found = area_answer(
        [
            ("GRAND BOULEVARD", 41, 25, "within normal variation"),
            ("DOUGLAS", 37, 20, "likely increase"),
        ]
    )
    sentences = answer_sentences(found, "Bronzeville")
    assert sentences[0].startswith("Bronzeville, Grand Boulevard part: 41 this year")
    assert sentences[1].endswith("a likely increase.")
    assert matched_words(found, "Bronzeville") == (
        "Bronzeville: counted as the Grand Boulevard community area and the Douglas community area."
    )


@pytest.mark.parametrize(
    ("metres", "words"),
    [(200, "one block"), (400, "two blocks"), (800, "four blocks"), (1500, "1500 m")],
    ids=["200", "400", "800", "1500"],
)
def test_radius_in_blocks(metres: int, words: str) -> None:
    assert radius_words(metres) == words


# -- contrast --------------------------------------------------------------------------------

EVERY_FILL = [*COUNT_COLOURS, *CHANGE_COLOURS.values(), NO_DATA, (255, 255, 255)]


@pytest.mark.parametrize(
    ("a", "b", "ratio"),
    [
        ((0, 0, 0), (255, 255, 255), 21.0),
        ((255, 255, 255), (255, 255, 255), 1.0),
        ((118, 118, 118), (255, 255, 255), 4.54),
    ],
    ids=["black-white", "same", "grey-767676"],
)
def test_contrast_ratio_matches_wcag(a, b, ratio) -> None:
    assert mapview.contrast_ratio(a, b) == pytest.approx(ratio, abs=0.01)


@pytest.mark.parametrize("fill", EVERY_FILL, ids=[str(f) for f in EVERY_FILL])
def test_every_label_reads_on_every_fill_the_map_can_use(fill) -> None:
    assert mapview.label_contrast(fill) >= 4.5


def test_without_its_plate_the_label_would_fail_on_the_dark_classes() -> None:
    """The rule has teeth: the bare text colour fails on 'likely increase' red."""
    red = CHANGE_COLOURS["likely increase"]
    assert mapview.contrast_ratio(mapview.LABEL_COLOUR, red) < 4.5
    assert mapview.label_contrast(red) >= 4.5


def test_labels_are_at_least_12_px_and_22_in_presentation_mode() -> None:
    assert min([*mapview.LABEL_SIZE.values(), mapview.DEFAULT_LABEL_SIZE]) >= 12
    assert mapview.PRESENT_LABEL_SIZE >= 20


def test_overlay_resizes_labels_and_rings_the_searched_point() -> None:
    spec = (
        '{"initialViewState":{"latitude":41.8,"longitude":-87.7,"zoom":9.4},"layers":'
        '[{"id":"areas","@@type":"GeoJsonLayer"},{"id":"labels","getSize":12,"data":[]}]}'
    )
    assert json.loads(mapview.with_overlay(spec)) == json.loads(spec)

    out = json.loads(mapview.with_overlay(spec, label_px=22, ring=(41.97, -87.71, 400)))
    labels = next(layer for layer in out["layers"] if layer["id"] == "labels")
    ring = next(layer for layer in out["layers"] if layer["id"] == "ring")
    assert labels["getSize"] == 22
    assert ring["radiusUnits"] == "meters" and ring["data"][0]["r"] == 400
    view = out["initialViewState"]
    assert (view["latitude"], view["longitude"]) == pytest.approx((41.97, -87.71), abs=1e-3)
    assert 13 < view["zoom"] <= 16  # two blocks each way fill a phone's map
    wider = json.loads(mapview.with_overlay(spec, zoom_by=0.5))["initialViewState"]
    assert wider["zoom"] == pytest.approx(9.9)


def test_labels_that_would_overlap_are_left_out_first_come_first_kept() -> None:
    """Albany Park and North Park's label points are ~2 km apart: apart at zoom 12 with
    12 px labels, on top of each other at zoom 10 with 22 px ones (the projector)."""
    labels = [
        {"text": "Albany Park", "at": [-87.7196, 41.9684]},
        {"text": "North Park", "at": [-87.7209, 41.9833]},
        {"text": "Hegewisch", "at": [-87.5446, 41.6622]},
    ]
    assert mapview.uncluttered(labels, zoom=12, size_px=12) == labels
    assert mapview.uncluttered(labels, zoom=10, size_px=22) == [labels[0], labels[2]]
