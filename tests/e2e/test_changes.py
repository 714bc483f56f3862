"""GET /candidates/changes: the change stream as Server-Sent Events, live and resumable."""

import http.client
import json
import socket
import threading
import time
import urllib.parse

from harness import ADMIN_KEY, assert_error, candidate_body, request


class EventStream:
    """A client of one SSE response: reads events (id, event, data) as they arrive."""

    def __init__(self, base_url, path="/candidates/changes", headers=None, api_key=ADMIN_KEY,
                 timeout=10.0):
        parts = urllib.parse.urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        hdrs = {"Accept": "text/event-stream", **(headers or {})}
        if api_key:
            hdrs["x-api-key"] = api_key
        self.conn.request("GET", path, headers=hdrs)
        self.resp = self.conn.getresponse()
        self.comments = []
        self.retry = None

    def next_event(self):
        """The next event as a dict with id, event and data (parsed JSON); raises on timeout."""
        event = {}
        while True:
            line = self.resp.readline()
            if not line:
                raise EOFError("stream ended")
            line = line.decode("utf-8").rstrip("\r\n")
            if line == "":
                if "data" in event:
                    event["data"] = json.loads(event["data"])
                    return event
                event = {}
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "retry":
                self.retry = int(value)
            else:
                event[name] = value

    def events(self, n):
        return [self.next_event() for _ in range(n)]

    def close(self):
        self.resp.close()  # the response holds the socket open too
        self.conn.close()


def test_changes_arrive_live_in_commit_order(launcher):
    """A subscriber sees INSERT, MODIFY and REMOVE as they commit, each with its new image and
    the record's SequenceNumber as the event id."""
    hs = launcher.start(function_enabled=False)
    stream = EventStream(hs.url)
    try:
        assert stream.resp.status == 200
        assert stream.resp.getheader("content-type") == "text/event-stream"
        assert stream.resp.getheader("cache-control") == "no-store"
        r = hs.post("/candidates", candidate_body(email="live@example.com", experience=4))
        assert r.status == 201, r
        cid = r.json["candidateId"]
        inserted = stream.next_event()
        assert inserted["event"] == "INSERT"
        assert inserted["data"]["eventName"] == "INSERT"
        assert inserted["data"]["id"] == cid
        assert inserted["data"]["candidate"]["email"] == "live@example.com"
        assert inserted["data"]["candidate"]["experience"] == 4
        assert inserted["id"] == inserted["data"]["sequenceNumber"]
        assert stream.retry == 2000

        assert hs.patch(f"/candidates/{cid}", {"skills": "rust"}).status == 200
        assert hs.delete(f"/candidates/{cid}").status == 204
        modified, removed = stream.events(2)
        assert modified["event"] == "MODIFY"
        assert modified["data"]["candidate"]["skills"] == "rust"
        assert removed["event"] == "REMOVE"
        assert removed["data"]["candidate"] is None
        assert removed["data"]["id"] == cid
        ids = [int(e["id"]) for e in (inserted, modified, removed)]
        assert ids == sorted(ids) and len(set(ids)) == 3
    finally:
        stream.close()


def test_reconnect_with_last_event_id_misses_nothing(launcher):
    """Changes committed while a client was away come first when it reconnects with the last
    id it saw, and nothing before that id comes again."""
    hs = launcher.start(function_enabled=False)
    first = EventStream(hs.url)
    assert hs.post("/candidates", candidate_body(email="a@example.com")).status == 201
    seen = first.next_event()
    first.close()
    away = []
    for i in range(3):
        r = hs.post("/candidates", candidate_body(email=f"away{i}@example.com"))
        assert r.status == 201
        away.append(r.json["candidateId"])

    again = EventStream(hs.url, headers={"Last-Event-ID": seen["id"]})
    try:
        got = again.events(3)
        assert [e["data"]["id"] for e in got] == away
        assert all(e["event"] == "INSERT" for e in got)
    finally:
        again.close()
    # ?after= does the same for clients that cannot set headers.
    by_query = EventStream(hs.url, path=f"/candidates/changes?after={seen['id']}")
    try:
        assert by_query.next_event()["data"]["id"] == away[0]
    finally:
        by_query.close()


def test_a_new_subscriber_starts_at_the_present(launcher):
    """Without Last-Event-ID, history is not replayed: the first event is the next change."""
    hs = launcher.start(function_enabled=False)
    assert hs.post("/candidates", candidate_body(email="old@example.com")).status == 201
    stream = EventStream(hs.url)
    try:
        r = hs.post("/candidates", candidate_body(email="new@example.com"))
        assert stream.next_event()["data"]["id"] == r.json["candidateId"]
    finally:
        stream.close()


def test_bad_resume_point_and_missing_key_are_refused(launcher):
    """A Last-Event-ID that is no SequenceNumber is a 400 naming it; no key is a 401."""
    hs = launcher.start(function_enabled=False)
    assert_error(hs.get("/candidates/changes", headers={"Last-Event-ID": "yesterday"}), 400,
                 "invalid_argument", "Last-Event-ID")
    assert_error(hs.get("/candidates/changes?after=-1"), 400, "invalid_argument", "after")
    assert request(hs.url, "GET", "/candidates/changes", api_key=None).status == 401


def test_streams_are_bounded_and_slots_come_back(launcher):
    """Over server.maxEventStreams live streams the next is a 503; when one closes, its slot is
    free again; the API keeps answering meanwhile."""
    hs = launcher.start(function_enabled=False,
                        edit=lambda cfg: cfg["server"].update({"maxEventStreams": 2}))
    a, b = EventStream(hs.url), EventStream(hs.url)
    try:
        assert a.resp.status == 200 and b.resp.status == 200
        assert_error(hs.get("/candidates/changes"), 503, "unavailable")
        assert hs.get("/healthz").status == 200
        a.close()
        def slot_free():
            s = EventStream(hs.url, timeout=5)
            ok = s.resp.status == 200
            s.close()
            return ok

        deadline = time.monotonic() + 10
        while not slot_free():
            assert time.monotonic() < deadline, "a closed stream's slot never came back"
            time.sleep(0.05)
    finally:
        a.close()
        b.close()


def test_shutdown_ends_open_streams(launcher):
    """Stopping hirestream ends a live stream cleanly instead of hanging the client or the
    shutdown."""
    hs = launcher.start(function_enabled=False)
    stream = EventStream(hs.url, timeout=15)
    ended = threading.Event()

    def read():
        try:
            while True:
                stream.next_event()
        except (EOFError, socket.timeout, OSError, http.client.HTTPException):
            ended.set()

    t = threading.Thread(target=read, daemon=True)
    t.start()
    started = time.monotonic()
    hs.terminate(timeout=10)
    assert ended.wait(10), "the stream did not end at shutdown"
    assert time.monotonic() - started < 10
    stream.close()
