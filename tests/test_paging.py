"""Keyset paging, alone: the requests it builds and when a read ends."""

import pytest

from pipeline.paging import MAX_PAGE_SIZE, KeysetPaginator, even_page_size, soql_text


def rows(*ids: str, updated: str = "2026-01-02T00:00:00.000Z") -> list[dict[str, str]]:
    return [{":id": i, ":updated_at": updated} for i in ids]


def test_full_read_orders_by_id_and_pages_after_the_last_id() -> None:
    pages = KeysetPaginator(limit=3)
    assert pages.update_request({"x": 1}) == {"x": 1, "limit": 3, "order": ":id"}
    pages.update_state(rows("row-b", "row-a", "row-c"))  # server order, kept verbatim
    assert pages.has_more
    assert pages.update_request({})["where"] == ":id > 'row-c'"
    pages.update_state(rows("row-d"))
    assert pages.has_more  # short, but nothing says it is the end: ask again
    pages.update_state([])
    assert not pages.has_more and pages.fetched == 4


def test_incremental_read_pages_after_the_last_stamp_and_id() -> None:
    since = "2026-01-02T00:00:00.000Z"
    pages = KeysetPaginator(limit=2, since=since)
    first = pages.update_request({})
    assert first["order"] == ":updated_at, :id"
    assert first["where"] == f":updated_at >= '{since}'"
    pages.update_state(rows("row-a", "row-b", updated="2026-01-03T00:00:00.000Z"))
    assert pages.update_request({})["where"] == (
        f":updated_at >= '{since}' AND (:updated_at > '2026-01-03T00:00:00.000Z' OR "
        "(:updated_at = '2026-01-03T00:00:00.000Z' AND :id > 'row-b'))"
    )


@pytest.mark.parametrize(
    ("expected", "page", "more"),
    [(5, 5, False), (5, 3, True), (None, 3, True), (5, 0, False)],
    ids=["short-page-reaches-count", "short-page-below-count", "count-unknown", "empty"],
)
def test_a_short_page_ends_the_read_only_at_the_expected_count(expected, page, more) -> None:
    pages = KeysetPaginator(limit=10, expected=expected)
    pages.update_state(rows(*(f"row-{i}" for i in range(page))))
    assert pages.has_more is more


def test_a_row_without_its_id_is_refused() -> None:
    with pytest.raises(ValueError, match="system field ':id'"):
        KeysetPaginator(limit=2).update_state([{"date": "x"}])


def test_quotes_in_a_cursor_are_escaped() -> None:
    assert soql_text("it's") == "'it''s'"


@pytest.mark.parametrize("limit", [0, MAX_PAGE_SIZE + 1], ids=["zero", "over-cap"])
def test_page_size_outside_socrata_cap_is_refused(limit: int) -> None:
    with pytest.raises(ValueError, match=r"page size was .* but must be in 1\.\.50000"):
        KeysetPaginator(limit=limit)


@pytest.mark.parametrize(
    ("expected", "limit", "size"),
    [
        (60_496, 50_000, 30_249),  # 30,249 + 30,247 instead of 50,000 + 10,496
        (100_000, 50_000, 33_334),  # 50,000 + 50,000 would need a third, empty page
        (3_184, 50_000, 3_185),
        (None, 50_000, 50_000),  # count unknown: the largest pages
        (0, 7, 7),
    ],
)
def test_even_pages_are_few_and_the_last_is_short(expected, limit, size) -> None:
    assert even_page_size(expected, limit) == size


@pytest.mark.parametrize("expected", [1, 2, 6, 7, 8, 13, 14, 15, 49, 50, 99, 100, 101])
def test_even_pages_read_every_row_and_end_on_a_short_page(expected: int) -> None:
    paginator = KeysetPaginator(limit=even_page_size(expected, limit=7), expected=expected)
    sizes = []
    while paginator.has_more:
        size = min(paginator.limit, expected - paginator.fetched)
        sizes.append(size)
        paginator.update_state(rows(*(f"row-{paginator.fetched + i:04d}" for i in range(size))))
    assert sum(sizes) == expected and sizes[-1] < paginator.limit
    assert len(sizes) == -(-(expected + 1) // 7)  # no more requests than plain pages of 7
    assert sizes[-1] >= paginator.limit - len(sizes)  # even: the last page is nearly full
