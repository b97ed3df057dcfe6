"""Benchmark: the dashboard's server time per render, and the map payload size.

    python -m bench.dashboard_bench [--repeat 5]

Runs dashboard.py through Streamlit's AppTest (the script in-process, as the
server runs it) on a store synced from the real snapshot. Figures:
- cold first render: a fresh app (empty caches) to a full page;
- warm interactions: changing the district, and changing the as-of date, each
  to a value not seen before (so the view's own tables are computed) and back;
- map layer payload: the pydeck JSON sent to the browser, per geography level.

Targets (issue 4): warm interaction <= 100 ms, cold first render <= 3 s,
map payload <= 1 MB. Times are the script's own run time on the server
(dashboard.py records it), without AppTest's polling.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.common import sync_real_store
from pipeline.settings import PROJECT_ROOT


def timed_run(app: Any) -> float:
    """Server time of one script run, as the page itself records it."""
    app.run()
    assert not app.exception, app.exception
    return float(app.session_state["render_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        sync_real_store(data)
        os.environ["DATA_DIR"] = str(data)
        from streamlit.testing.v1 import AppTest

        app = AppTest.from_file(str(PROJECT_ROOT / "dashboard.py"), default_timeout=60)
        cold = timed_run(app)
        districts = ["17", "11", "7", "25", "4", "8", "10", "15", "6", "3"][: args.repeat * 2]
        change_area = []
        for key in districts:
            app.selectbox(key="area").set_value(key)
            change_area.append(timed_run(app))
        change_as_of = []
        latest = app.date_input(key="as_of").value
        assert isinstance(latest, date)
        for k in range(1, args.repeat + 1):
            app.date_input(key="as_of").set_value(latest - timedelta(days=7 * k))
            change_as_of.append(timed_run(app))
        app.date_input(key="as_of").set_value(latest)
        app.run()
        back = []
        for key in districts[:3]:  # views computed above: everything comes from the cache
            app.selectbox(key="area").set_value(key)
            back.append(timed_run(app))
        payloads = map_payloads(data)
    ms = [1000 * statistics.median(x) for x in (change_area, change_as_of, back)]
    print(f"cold first render (empty caches):            {cold:5.2f} s   (target <= 3 s)")
    print(
        f"change district, new view (median of {len(change_area)}):  {ms[0]:5.0f} ms "
        "(target <= 100 ms)"
    )
    print(f"change as-of, new date (median of {len(change_as_of)}):      {ms[1]:5.0f} ms")
    print(f"return to a view already seen (median of 3): {ms[2]:5.0f} ms")
    for level, size in payloads.items():
        print(f"map payload, {level:<15} {size / 1e6:5.2f} MB (target <= 1 MB)")


def map_payloads(data: Path) -> dict[str, int]:
    """Bytes of the deck.gl JSON for each level, as the page sends it."""
    from pipeline.settings import Settings
    from ui import data as page_data
    from ui.state import View

    ref = page_data.store_ref(Settings.from_env(data_dir=data))
    assert ref is not None
    found = page_data.facts(ref)
    assert found is not None
    sizes = {}
    for level in ("district", "beat", "community_area"):
        view = View(level=level, as_of=found.bounds.latest)
        sizes[level] = len(page_data.map_json(ref, view).encode())
    return sizes


if __name__ == "__main__":
    main()
