"""Shared fixtures: settings in a temp dir, API-shaped rows, the real snapshot."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.settings import PROJECT_ROOT, Settings


@pytest.fixture(autouse=True)
def _nothing_stays_frozen():
    """A page run freezes the objects alive after the process's first page
    (`ui.memory`), as a server does; tests share one process, so each test's are let go
    after it (a frozen cycle, such as an unclosed connection, would never be freed)."""
    yield
    gc.unfreeze()


SHARED = Path(PROJECT_ROOT).parent / "shared" / "data" / "chicago"
SAMPLE_DIR = SHARED / "victims_api_sample_2024_2026"
RECONSTRUCTED = SHARED / "victims_reconstructed_2015_2022" / "victims_2015_2022_api_shape.csv.gz"
BOUNDARY_FILES = {
    "beats": SHARED / "police_beats_current.geojson",
    "districts": SHARED / "police_districts_current.geojson",
    "community_areas": SHARED / "community_areas.geojson",
    "zip_codes": SHARED / "zip_codes_gdcf-axmw.geojson",
    "neighborhoods": SHARED / "neighborhoods_bbvz-uum9.geojson",
}

needs_snapshot = pytest.mark.skipif(
    not (SAMPLE_DIR.is_dir() and RECONSTRUCTED.is_file()),
    reason=f"real Chicago snapshot not found at {SHARED} (CI has it; see ../shared/data/chicago)",
)

VICTIMS = "gumc-mgzr"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Store in a temp dir, fast retries, small pages (so paging is exercised)."""
    return Settings.from_env(
        env={},
        data_dir=tmp_path / "data",
        page_size=7,
        max_attempts=3,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
        timeout_s=5.0,
    )


def api_row(i: int, **overrides: Any) -> dict[str, Any]:
    """One victim row as the API serves it (strings, system fields, a name)."""
    row: dict[str, Any] = {
        ":id": f"row-{i:05d}",
        ":updated_at": f"2026-01-{1 + i % 28:02d}T10:00:00.000Z",
        ":created_at": "2026-01-01T00:00:00.000Z",
        "case_number": f"JJ{100000 + i // 2}",  # two victims per incident
        "cpd_id": f"SHOOT-JJ{100000 + i // 2}-#{1 + i % 2}",
        "date": f"2025-{1 + i % 12:02d}-{1 + i % 27:02d}T{i % 24:02d}:15:00.000",
        "block": f"{i}00 W TEST ST",
        "victimization_primary": "HOMICIDE" if i % 5 == 0 else "BATTERY",
        "incident_primary": "HOMICIDE" if i % 5 == 0 else "BATTERY",
        "gunshot_injury_i": "NO" if i % 7 == 0 else "YES",
        "district": str(1 + i % 3),
        "beat": f"{1 + i % 3}{11 + i % 2}",
        "community_area": "AUSTIN",
        "ward": str(1 + i % 50),
        "age": "20-29",
        "sex": "M",
        "race": "BLK",
        "location_description": "STREET",
        "latitude": f"{41.80 + (i % 10) / 100:.6f}",
        "longitude": f"{-87.70 + (i % 10) / 100:.6f}",
        "location": {"type": "Point", "coordinates": [-87.7, 41.8]},
        "homicide_victim_first_name": "SECRETFIRST",
        "homicide_victim_mi": "Q",
        "homicide_victim_last_name": "SECRETLAST",
    }
    row.update(overrides)
    return row


def first_victims(
    rows: list[dict[str, Any]], case: str, when: str, ident: str
) -> list[dict[str, Any]]:
    """Each incident's first victim (earliest `when`, then smallest `ident`): the one an
    incident is counted by, on its date and in its place (README, definitions)."""
    first: dict[str, dict[str, Any]] = {}
    for row in rows:
        held = first.get(row[case])
        if held is None or (row[when], row[ident]) < (held[when], held[ident]):
            first[row[case]] = row
    return list(first.values())


def square(x0: float, y0: float, size: float = 0.05) -> dict[str, Any]:
    ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def tiny_layers() -> dict[str, dict[str, Any]]:
    """Hand-drawn boundary layers: four square beats in two districts, one community area,
    a ZIP code in two pieces and two neighbourhoods."""
    beats = [
        ("0111", "1", -87.75, 41.80),
        ("0112", "1", -87.70, 41.80),
        ("0211", "2", -87.75, 41.85),
        ("0212", "2", -87.70, 41.85),
    ]
    return {
        "beats": _collection(
            [{"beat_num": b, "district": d} for b, d, _, _ in beats],
            [square(x, y) for _, _, x, y in beats],
        ),
        "districts": _collection(
            [{"dist_num": "1", "dist_label": "1ST"}, {"dist_num": "02", "dist_label": "2ND"}],
            [square(-87.75, 41.80, 0.1), square(-87.75, 41.85, 0.1)],
        ),
        "community_areas": _collection(
            [{"community": "Austin", "area_numbe": "25"}], [square(-87.75, 41.80, 0.1)]
        ),
        "zip_codes": _collection(
            [{"zip": "60644"}, {"zip": "60644"}],
            [square(-87.75, 41.80, 0.1), square(-87.75, 41.90, 0.05)],
        ),
        "neighborhoods": _collection(
            [{"pri_neigh": "West Test", "sec_neigh": "TESTLAND"}, {"pri_neigh": "East Test"}],
            [square(-87.75, 41.80, 0.05), square(-87.70, 41.80, 0.05)],
        ),
    }


def _collection(props: list[dict[str, Any]], geoms: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": p, "geometry": g}
            for p, g in zip(props, geoms, strict=True)
        ],
    }


def write_layers(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for layer, collection in tiny_layers().items():
        paths[layer] = folder / f"{layer}.geojson"
        paths[layer].write_text(json.dumps(collection))
    return paths


# Points inside the hand-drawn beats (see conftest.tiny_layers).
IN_0111, IN_0212, OUTSIDE = (41.82, -87.72), (41.87, -87.68), (41.70, -87.60)


def row(i: int, when: str, where: tuple[float, float], **extra: str) -> dict[str, Any]:
    """A gunshot victim at a known point and time, recorded in beat 0911."""
    fields = {
        "date": when,
        "latitude": str(where[0]),
        "longitude": str(where[1]),
        "gunshot_injury_i": "YES",
        "victimization_primary": "BATTERY",
        "district": "9",
        "beat": "0911",
        **extra,
    }
    return api_row(i, **fields)


ROWS = [
    row(0, "2025-02-01T10:00:00", IN_0111),
    row(1, "2025-02-01T10:00:00", IN_0111),  # same case number as row 0
    row(2, "2025-03-01T10:00:00", IN_0111, victimization_primary="HOMICIDE"),
    row(3, "2024-02-01T10:00:00", IN_0111),
    row(4, "2025-02-10T10:00:00", IN_0212),
    row(5, "2025-02-11T10:00:00", OUTSIDE),
    row(6, "2025-03-05T10:00:00", IN_0212),  # the latest record: default as-of
    row(7, "2024-01-15T10:00:00", IN_0212),
    row(8, "2024-03-02T10:00:00", IN_0212),
    row(9, "2025-01-20T10:00:00", IN_0212),
]


def layer_flags(layers: dict[str, Path]) -> list[str]:
    """`--beats PATH --districts PATH ...` for `sync`."""
    return [
        arg for layer, path in layers.items() for arg in (f"--{layer.replace('_', '-')}", str(path))
    ]


def sync_files(data: Path, victims: list[Path], layers: dict[str, Path]) -> Path:
    """`python -m pipeline sync` from files into `data`, as a user runs it."""
    argv = ["sync", "--data-dir", str(data), "--victims", *map(str, victims)]
    assert main([*argv, *layer_flags(layers)]) == 0
    return data


def sync_real_snapshot(data: Path) -> Path:
    """A store of the real snapshot: both victims files and the three boundary layers."""
    return sync_files(data, [SAMPLE_DIR, RECONSTRUCTED], BOUNDARY_FILES)


def build_store(folder: Path, rows: list[dict[str, Any]]) -> Path:
    """Sync `rows` (as a CSV) and the hand-drawn layers into a store under `folder`."""
    path = folder / "v.csv.gz"
    pd.DataFrame.from_records(rows).drop(columns="location").to_csv(path, index=False)
    return sync_files(folder / "data", [path], write_layers(folder / "layers"))
