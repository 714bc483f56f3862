"""GET /candidates is paginated, newest first, with validated limit and cursor."""

import urllib.parse

from harness import assert_error


def _page(hs, limit=None, cursor=None):
    query = {}
    if limit is not None:
        query["limit"] = str(limit)
    if cursor is not None:
        query["cursor"] = cursor
    path = "/candidates" + ("?" + urllib.parse.urlencode(query) if query else "")
    r = hs.get(path)
    assert r.status == 200, (path, r)
    body = r.json
    assert isinstance(body["candidates"], list), body
    return body["candidates"], body.get("nextCursor")


def test_pagination_newest_first(launcher):
    """25 candidates page as 10, 10, 5, newest first, no duplicates; the last page has no cursor."""
    hs = launcher.start(function_enabled=False)  # listing only: no mail needed
    posted = []
    for i in range(25):
        r = hs.post("/candidates", {"fullname": f"Person {i:02d}", "email": f"p{i}@example.com",
                                    "skills": "sql", "experience": i % 15})
        assert r.status == 201, r
        posted.append(r.json["candidateId"])
    newest_first = list(reversed(posted))

    pages, cursor, seen_cursors = [], None, []
    for _ in range(5):  # bounded: a cursor that never ends must fail, not hang
        items, cursor = _page(hs, limit=10, cursor=cursor)
        pages.append(items)
        if not cursor:
            break
        assert cursor not in seen_cursors, "cursor repeats"
        seen_cursors.append(cursor)
    assert [len(p) for p in pages] == [10, 10, 5]
    ids = [c["id"] for p in pages for c in p]
    assert ids == newest_first, "not newest first, or duplicated/missing items"
    first = pages[0][0]
    assert first["fullname"] == "Person 24" and first["email"] == "p24@example.com", first

    items, cursor = _page(hs)  # default limit 20
    assert [c["id"] for c in items] == newest_first[:20] and cursor

    items, cursor = _page(hs, limit=100)
    assert [c["id"] for c in items] == newest_first and not cursor

    for bad in ("0", "101", "abc", "-1", "1.5"):
        assert_error(hs.get("/candidates?limit=" + urllib.parse.quote(bad)), 400,
                     "invalid_argument", "limit")
    for bad in ("zzz", "not-a-cursor!!"):
        assert_error(hs.get("/candidates?limit=10&cursor=" + urllib.parse.quote(bad)), 400,
                     "invalid_argument", "cursor")
