"""Where records come from: the Socrata API or local files, behind one interface.

A victims source yields pages of raw rows (`schema.RawPage`: the API's JSON
rows, or a frame of CSV text; columns as the source names them); a boundary
source returns a GeoJSON FeatureCollection. Nothing here types or validates:
that is `pipeline.schema`'s job.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from pipeline.schema import RawPage


class VictimSource(Protocol):
    #: Where the rows come from, for the sync log: a host name or 'file:' + paths.
    description: str
    #: True if `pages(since=...)` can return only rows updated since a watermark.
    incremental: bool
    #: Known source columns this source may lack without it being schema drift.
    optional_columns: tuple[str, ...]

    def declared_columns(self) -> frozenset[str]:
        """Columns the source declares beyond those its rows carry (the portal's field
        list names columns that are null in every row); empty if it declares none."""
        ...

    def count(self, since: str | None = None) -> int | None:
        """Rows `pages(since)` will yield: the source's own count, asked before a read."""
        ...

    def pages(self, since: str | None = None, expected: int | None = None) -> Iterator[RawPage]:
        """Raw rows, page by page; `since` is an `:updated_at` watermark, `expected` the
        row count `count(since)` gave. A source that can tell a read came up short of
        its count raises `IncompleteReadError` after the last page."""
        ...


class BoundarySource(Protocol):
    description: str

    def feature_collection(self) -> dict[str, Any]:
        """The layer as a GeoJSON FeatureCollection in EPSG:4326."""
        ...
