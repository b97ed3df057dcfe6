"""The one-page meeting brief: the same numbers as `compare`, a static map, plain words.

`make_brief` checks the request, gathers the numbers from the store
(`brief.content`, the only I/O besides the file written), draws one US Letter
landscape page with matplotlib (`brief.drawing`) and writes it atomically: a failure
leaves no file behind.

The page: title and period; the CompStat table; a map of the area's beats
numbered (labels placed without overlap by `geo.staticmap`) beside a table
"beat: this year vs last year, verdict"; the same span in each of the last five
years; plain sentences; sources by portal name and id. Everything stays at least
`drawing.MARGIN_IN` from the paper's edge, where printers clip.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipeline.brief.content import DEFAULT_BASIS, gather
from pipeline.brief.drawing import draw, save
from pipeline.errors import UsageError
from pipeline.store import Store

FORMATS = (".pdf", ".png")


def make_brief(
    store: Store,
    by: str,
    key: str,
    output: Path,
    as_of: date | None = None,
    measure: str = "victims",
    basis: str = DEFAULT_BASIS,
) -> Path:
    """Write the brief for one area to `output` (.pdf or .png); return the path. `basis`
    places records in areas (`queries.BASES`); the map always draws current boundaries."""
    if output.suffix.lower() not in FORMATS:
        raise UsageError(f"output was {output.name!r} but must end in {' or '.join(FORMATS)}")
    with store.reader() as q:
        key = q.resolve_area(by, key)
        data = gather(q, by, key, q.resolve_as_of(as_of), measure, basis)
    return save(draw(data), output)
