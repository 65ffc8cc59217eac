"""The window's paged lists end, whatever cursor the server sends (issue 14, item 9)."""

from __future__ import annotations

import qasync

from speckle_uploader.speckle.models import Page
from speckle_uploader.ui.pickers import PagedList


def test_a_repeated_cursor_ends_the_list(qtbot, running_qloop: qasync.QEventLoop) -> None:  # type: ignore[no-untyped-def]
    calls: list[str | None] = []

    async def fetch(_search: str, cursor: str | None) -> Page[str]:
        calls.append(cursor)
        return Page([f"project {len(calls)}"], "the-same-cursor", 1000)  # always "there is more"

    paged = PagedList("Projects", "Search")
    qtbot.addWidget(paged)
    paged.show()  # one item per page leaves the list unfilled: it asks for the next page at once
    paged.fetch = fetch
    paged.reload()
    qtbot.waitUntil(lambda: len(calls) >= 2 and not paged._loading, timeout=10_000)
    qtbot.wait(200)  # room for a third request, which must not come
    assert paged._cursor is None  # nothing more to ask for
    assert calls == [None, "the-same-cursor"]
    assert paged.list.count() == 2
