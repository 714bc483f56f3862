"""Bad input is refused with the right error and leaves no trace: no row, no record, no mail."""

import json
import threading
import time

import pytest

import harness
from harness import assert_error

GOOD = {"fullname": "Grace Hopper", "email": "grace@example.com", "skills": "cobol",
        "experience": 10}


def _with(**changes):
    body = dict(GOOD)
    for key, value in changes.items():
        if value is _DROP:
            body.pop(key)
        else:
            body[key] = value
    return json.dumps(body).encode("utf-8")


_DROP = object()

# (id, raw body, expected status, code, field or None when the contract leaves it open)
BAD_INPUTS = [
    ("malformed-json", b'{"fullname": "Grace", "email": ', 400, "invalid_argument", None),
    ("not-json", b"fullname=Grace&email=grace@example.com", 400, "invalid_argument", None),
    ("empty-body", b"", 400, "invalid_argument", None),
    ("array", b'[{"fullname": "Grace"}]', 400, "invalid_argument", None),
    ("string", b'"hello"', 400, "invalid_argument", None),
    ("number", b"42", 400, "invalid_argument", None),
    ("null", b"null", 400, "invalid_argument", None),
    ("missing-fullname", _with(fullname=_DROP), 400, "invalid_argument", "fullname"),
    ("missing-email", _with(email=_DROP), 400, "invalid_argument", "email"),
    ("missing-experience", _with(experience=_DROP), 400, "invalid_argument", "experience"),
    ("experience-string", _with(experience="12"), 400, "invalid_argument", "experience"),
    ("experience-bool", _with(experience=True), 400, "invalid_argument", "experience"),
    ("experience-null", _with(experience=None), 400, "invalid_argument", "experience"),
    ("experience-object", _with(experience={"N": "12"}), 400, "invalid_argument", "experience"),
    ("fullname-number", _with(fullname=42), 400, "invalid_argument", "fullname"),
    ("email-list", _with(email=["grace@example.com"]), 400, "invalid_argument", "email"),
    ("skills-number", _with(skills=7), 400, "invalid_argument", "skills"),
    ("email-no-at", _with(email="not-an-email"), 400, "invalid_argument", "email"),
    ("email-no-domain", _with(email="grace@"), 400, "invalid_argument", "email"),
    ("email-no-local", _with(email="@example.com"), 400, "invalid_argument", "email"),
    ("email-two-ats", _with(email="grace@@example.com"), 400, "invalid_argument", "email"),
    ("email-space", _with(email="grace hopper@example.com"), 400, "invalid_argument", "email"),
    ("email-empty", _with(email=""), 400, "invalid_argument", "email"),
    ("experience-negative", _with(experience=-1), 400, "invalid_argument", "experience"),
    ("experience-negative-fraction", _with(experience=-0.5), 400, "invalid_argument",
     "experience"),
    ("experience-81", _with(experience=81), 400, "invalid_argument", "experience"),
    ("experience-80.5", _with(experience=80.5), 400, "invalid_argument", "experience"),
    ("experience-huge", _with(experience=1e308), 400, "invalid_argument", "experience"),
    ("fullname-crlf", _with(fullname="Grace\r\nBcc: victim@example.com"), 400,
     "invalid_argument", "fullname"),
    ("fullname-lf", _with(fullname="Grace\nHopper"), 400, "invalid_argument", "fullname"),
    ("skills-cr", _with(skills="cobol\rBcc: victim@example.com"), 400, "invalid_argument",
     "skills"),
    ("email-crlf", _with(email="grace@example.com\r\nBcc: victim@example.com"), 400,
     "invalid_argument", "email"),
    ("recruiter-lf", _with(recruiterEmail="rec@example.com\nBcc: victim@example.com"), 400,
     "invalid_argument", "recruiterEmail"),
    ("unknown-field", _with(role="admin"), 400, "invalid_argument", "role"),
    ("too-large", _with(fullname="G" * (70 * 1024)), 413, "too_large", None),
]


def test_bad_inputs_are_refused_and_leave_no_trace(launcher, smtp):
    """Every malformed submission gets its status, code and field; nothing is stored or mailed."""
    hs = launcher.start(smtp_url=smtp.url)
    failures = []
    for name, raw, status, code, field in BAD_INPUTS:
        r = hs.post("/candidates", raw=raw)
        try:
            assert_error(r, status, code, field)
        except AssertionError as e:
            failures.append(f"{name}: {e}")
    assert not failures, "\n".join(failures)

    r = hs.get("/candidates")
    assert r.status == 200, r
    assert r.json["candidates"] == [], r.json
    assert hs.stream_records() == [], "a refused request produced a stream record"

    # A valid submission afterwards is the only one mailed.
    r = hs.post("/candidates", raw=_with())
    assert r.status == 201, r
    smtp.wait_messages(GOOD["email"])
    time.sleep(1.0)  # hold: nothing else may be mailed
    assert [m["rcpt_tos"] for m in smtp.messages()] == [[GOOD["email"]]]


def test_duplicate_email_is_a_conflict(launcher, smtp):
    """Email is stored lower-cased; a second submission with it (any case) answers 409."""
    hs = launcher.start(smtp_url=smtp.url)
    r = hs.post("/candidates", {"fullname": "Dup User", "email": "Dup.User@Example.COM",
                                "skills": "go", "experience": 3})
    assert r.status == 201, r
    cid = r.json["candidateId"]
    assert hs.candidate(cid)["email"] == "dup.user@example.com"

    for variant in ("dup.user@example.com", "DUP.USER@EXAMPLE.COM"):
        r = hs.post("/candidates", {"fullname": "Someone Else", "email": variant,
                                    "skills": "java", "experience": 9})
        assert_error(r, 409, "conflict", "email")

    msgs = smtp.wait_messages("dup.user@example.com")
    time.sleep(1.0)
    assert len(smtp.messages()) == 1 and msgs[0]["rcpt_tos"] == ["dup.user@example.com"]
    listed = hs.get("/candidates").json["candidates"]
    assert [c["id"] for c in listed] == [cid]


def test_concurrent_duplicates_store_one(launcher, smtp):
    """Ten simultaneous POSTs of one email: exactly one 201, nine 409s, one row, one email."""
    hs = launcher.start(smtp_url=smtp.url)
    n = 10
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        barrier.wait(timeout=10)
        results[i] = hs.post("/candidates", {"fullname": f"Racer {i}",
                                             "email": "race@example.com",
                                             "skills": "c", "experience": 4})

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    statuses = sorted(r.status for r in results)
    assert statuses == [201] + [409] * (n - 1), results
    for r in results:
        if r.status == 409:
            assert_error(r, 409, "conflict", "email")
    winner = next(r for r in results if r.status == 201).json["candidateId"]

    listed = hs.get("/candidates").json["candidates"]
    assert [c["id"] for c in listed] == [winner], listed
    inserts = [x for x in hs.stream_records() if x["eventName"] == "INSERT"]
    assert len(inserts) == 1, inserts
    smtp.wait_messages("race@example.com")
    time.sleep(1.0)
    assert smtp.count() == 1


@pytest.mark.parametrize("path", ["/candidates/0b7c3f9e-1f53-4c1e-9d2a-8f5a6b7c8d9e",
                                  "/candidates/not-a-uuid"])
def test_unknown_candidate_is_404(launcher, path):
    """A missing or malformed id answers 404 not_found as JSON (the seed answered 200, empty)."""
    hs = launcher.start()
    assert_error(hs.get(path), 404, "not_found")
