import pytest

from pipeline.paging import MAX_PAGE_SIZE, OffsetPaginator, even_page_size


def test_full_read_orders_by_id_and_advances_offset() -> None:
    pages = OffsetPaginator(limit=3)
    assert pages.update_request({"x": 1}) == {"x": 1, "limit": 3, "offset": 0, "order": ":id"}
    pages.update_state(3)
    assert pages.has_more and pages.update_request({})["offset"] == 3
    pages.update_state(2)
    assert not pages.has_more and pages.offset == 5


def test_incremental_read_orders_by_watermark_then_id() -> None:
    request = OffsetPaginator(limit=10, since="2026-01-02T00:00:00.000Z").update_request({})
    assert request["order"] == ":updated_at, :id"
    assert request["where"] == ":updated_at >= '2026-01-02T00:00:00.000Z'"


def test_empty_page_ends_the_read() -> None:
    pages = OffsetPaginator(limit=5)
    pages.update_state(0)
    assert not pages.has_more


@pytest.mark.parametrize("limit", [0, MAX_PAGE_SIZE + 1], ids=["zero", "over-cap"])
def test_page_size_outside_socrata_cap_is_refused(limit: int) -> None:
    with pytest.raises(ValueError, match=r"page size was .* but must be in 1\.\.50000"):
        OffsetPaginator(limit=limit)


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
    paginator = OffsetPaginator(limit=even_page_size(expected, limit=7))
    sizes = []
    while paginator.has_more:
        size = min(paginator.limit, expected - paginator.offset)
        sizes.append(size)
        paginator.update_state(size)
    assert sum(sizes) == expected and sizes[-1] < paginator.limit
    assert len(sizes) == -(-(expected + 1) // 7)  # no more requests than plain pages of 7
    assert sizes[-1] >= paginator.limit - len(sizes)  # even: the last page is nearly full
