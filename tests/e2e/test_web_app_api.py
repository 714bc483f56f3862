"""The web app and the routes it added: GET / and its files, candidate search and filters, the
email timeline in GET /candidates/{id}, the rules and their evaluation, a function's log tail,
and the outbox folder (path traversal refused)."""

import os
import urllib.parse

import harness
from harness import assert_error


def post(hs, name, email, experience, skills="go"):
    r = hs.post("/candidates", {"fullname": name, "email": email, "skills": skills,
                                "experience": experience})
    assert r.status == 201, r
    return r.json["candidateId"]


def test_web_app_is_served_open_with_a_strict_policy(launcher):
    """GET / is the app, without a key, with a CSP that allows no inline script."""
    hs = launcher.start(smtp_url=None)
    r = hs.get("/", api_key=None)
    assert r.status == 200 and r.headers["content-type"].startswith("text/html"), r
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp, csp
    js = hs.get("/js/app.js", api_key=None)
    assert js.status == 200 and js.headers["content-type"].startswith("text/javascript"), js
    again = hs.get("/js/app.js", api_key=None, headers={"If-None-Match": js.headers["etag"]})
    assert again.status == 304, again


def test_candidates_search_filters_and_timeline(launcher):
    """q matches name or email in any case; assignment and state filter by the email; the
    detail carries the email's timeline up to SENT."""
    hs = launcher.start(smtp_url=None)
    ada = post(hs, "Ada Lovelace", "ada@example.com", 3)
    grace = post(hs, "Grace Hopper", "grace@navy.example", 12)
    hs.wait_delivery(ada, "SENT")
    hs.wait_delivery(grace, "SENT")

    def ids(query):
        r = hs.get("/candidates?" + urllib.parse.urlencode(query))
        assert r.status == 200, r
        return [c["id"] for c in r.json["candidates"]]

    assert ids({"q": "LOVE"}) == [ada]
    assert ids({"q": "navy.ex"}) == [grace]
    assert ids({"assignment": "assignment3"}) == [grace]
    assert ids({"state": "SENT"}) == [grace, ada]
    assert ids({"state": "FAILED"}) == []
    assert ids({"q": "ada", "assignment": "assignment3"}) == []
    assert_error(hs.get("/candidates?state=LOST"), 400, "invalid_argument", "state")
    assert_error(hs.get("/candidates?q=" + "x" * 201), 400, "invalid_argument", "q")

    timeline = hs.candidate(ada)["timeline"]
    events = [e["event"] for e in timeline]
    assert events[:2] == ["QUEUED", "SENT"], timeline
    assert timeline[0]["assignment"] == "assignment1", timeline
    assert timeline[1]["reply"].startswith("written to "), timeline


def test_rules_are_listed_in_order_and_evaluated(launcher):
    """GET /rules shows the config's rules; POST /rules/evaluate names the rule that matched,
    or the default; bad input names its field; recruiters are refused."""
    hs = launcher.start(smtp_url=None)
    r = hs.get("/rules")
    assert r.status == 200, r
    assert [x["assignment"] for x in r.json["rules"]] == ["assignment1", "assignment2",
                                                         "assignment3"]
    assert r.json["rules"][1]["when"]["experience"] == {"gt": 5, "lte": 8}
    assert r.json["defaultAssignment"] == "assignment3"
    r = hs.post("/rules/evaluate", {"experience": 6})
    assert r.status == 200 and r.json["assignment"] == "assignment2", r
    assert r.json["rule"]["index"] == 1, r
    r = hs.post("/rules/evaluate", {"experience": 0.5, "skills": "java"})
    assert r.json["assignment"] == "assignment1", r
    assert_error(hs.post("/rules/evaluate", {"experience": -1}), 400, "invalid_argument",
                 "experience")
    assert_error(hs.post("/rules/evaluate", {"experience": "6"}), 400, "invalid_argument",
                 "experience")
    assert_error(hs.post("/rules/evaluate", {}), 400, "invalid_argument", "experience")
    assert_error(hs.post("/rules/evaluate", {"experience": 1, "x": 1}), 400,
                 "invalid_argument", "x")
    key = hs.post("/keys", {"role": "recruiter", "name": "r"}).json["key"]
    assert_error(hs.get("/rules", api_key=key), 403, "forbidden")


def test_function_log_tail_returns_new_lines_after_its_cursor(launcher):
    """The last lines, then with the cursor only what was logged since."""
    hs = launcher.start(smtp_url=None)
    first = post(hs, "One", "one@example.com", 1)
    hs.wait_delivery(first, "SENT")
    r = hs.get("/functions/sendAssignment/logs?limit=1000")
    assert r.status == 200, r
    assert any(line.startswith("REPORT RequestId: ") for line in r.json["lines"]), r.json
    cursor = r.json["nextCursor"]
    again = hs.get(f"/functions/sendAssignment/logs?cursor={cursor}")
    assert again.status == 200 and again.json["lines"] == [], again
    second = post(hs, "Two", "two@example.com", 1)
    hs.wait_delivery(second, "SENT")
    new = harness.wait_until(
        lambda: [line for line in hs.get(f"/functions/sendAssignment/logs?cursor={cursor}")
                 .json["lines"] if line.startswith("REPORT")],
        message="the second invocation's REPORT line")
    assert len(new) == 1, new
    assert_error(hs.get("/functions/sendAssignment/logs?cursor=nope"), 400,
                 "invalid_argument", "cursor")
    assert_error(hs.get("/functions/nobody/logs"), 404, "not_found", "name")


def test_outbox_lists_and_serves_messages_and_refuses_other_names(launcher):
    """The outbox listing and a message byte for byte; any name the transport would not write
    (a traversal, an encoded one, a hidden file) is 404; recruiters are refused."""
    hs = launcher.start(smtp_url=None)
    cid = post(hs, "Ada Lovelace", "ada@example.com", 3)
    hs.wait_delivery(cid, "SENT")
    r = hs.get("/outbox")
    assert r.status == 200 and r.json["transport"] == "outbox", r
    [m] = r.json["messages"]
    assert "ada@example.com" in m["to"] and m["subject"] == "Coding Round", m
    raw = hs.get("/outbox/" + urllib.parse.quote(m["name"]))
    assert raw.status == 200 and raw.headers["content-type"] == "message/rfc822", raw
    assert b"assignment1.zip" in raw.body and len(raw.body) == m["size"]
    with open(os.path.join(os.path.dirname(launcher.outbox_dir), "secret.eml"), "w") as f:
        f.write("secret")
    for name in ["..%2Fsecret.eml", "20231114T221320.000Z-..%2F..%2Fsecret.eml",
                 ".tmp-x.eml", "20231114T221320.000Z-nope.eml", "x"]:
        assert_error(hs.get("/outbox/" + name), 404, "not_found")
    key = hs.post("/keys", {"role": "recruiter", "name": "r"}).json["key"]
    assert_error(hs.get("/outbox", api_key=key), 403, "forbidden")
