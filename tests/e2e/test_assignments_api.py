"""Assignments over the API: list, upload, use through a skills rule, replace, delete."""

import hashlib
import io
import uuid
import zipfile

import harness


def _zip(text):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("README.md", text)
    return b.getvalue()


def _put(hs, name, data, **query):
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return hs.request("PUT", f"/assignments/{name}" + (f"?{qs}" if qs else ""), raw=data,
                      headers={"Content-Type": "application/zip"})


def test_upload_list_use_replace_delete(launcher, smtp):
    """An uploaded zip is listed, handed out by a skills rule, replaced, and deletable only
    once no rule names it; config-declared ones stay read-only."""
    first = _zip("graphs v1")
    # First start: no rule names it yet, so it can be uploaded before any rule uses it.
    hs = launcher.start(smtp_url=smtp.url)
    r = _put(hs, "graphs", first, title="Graph%20search", delivery="both")
    assert r.status == 201, r
    assert r.json["sha256"] == hashlib.sha256(first).hexdigest() and r.json["size"] == len(first)
    listed = {a["name"]: a for a in hs.get("/assignments").json["assignments"]}
    assert listed["graphs"] == {"name": "graphs", "title": "Graph search", "delivery": "both",
                                "size": len(first), "sha256": hashlib.sha256(first).hexdigest(),
                                "source": "upload"}
    assert listed["assignment1"]["source"] == "config"
    r = _put(hs, "assignment1", first)
    assert r.status == 409 and r.json["error"]["field"] == "assignments.assignment1", r
    assert hs.delete("/assignments/assignment1").status == 409
    hs.close()

    def edit(cfg):
        cfg["rules"].insert(0, {"assignment": "graphs",
                                "when": {"experience": {"gte": 0},
                                         "skills": {"contains": ["java", "kotlin"]}}})
    hs = launcher.start(smtp_url=smtp.url, edit=edit)
    addr = f"java-{uuid.uuid4().hex[:8]}@example.com"
    r = hs.post("/candidates", {"fullname": "Jay Va", "email": addr, "skills": "Java, SQL",
                                "experience": 3})
    assert r.status == 201, r
    msg = harness.parse_mail(smtp.wait_messages(addr)[0]["data"])
    atts = list(msg.iter_attachments())
    assert [a.get_filename() for a in atts] == ["graphs.zip"] and atts[0].get_content() == first
    link = harness.signed_links_in(msg, hs.url)[0]
    assert hs.get(link[len(hs.url):]).body == first
    assert "Graph search" in msg.get_body(preferencelist=("plain",)).get_content()

    second = _zip("graphs v2")
    r = _put(hs, "graphs", second, title="Graphs%202")
    assert r.status == 200 and r.json["sha256"] == hashlib.sha256(second).hexdigest(), r
    assert hs.get(link[len(hs.url):]).body == second  # a link names the assignment, not a version
    r = hs.delete("/assignments/graphs")
    assert r.status == 409 and r.json["error"]["field"] == "rules[0].assignment", r
    hs.close()

    hs = launcher.start(smtp_url=smtp.url)
    assert hs.delete("/assignments/graphs").status == 204
    assert hs.delete("/assignments/graphs").status == 404
    assert "graphs" not in [a["name"] for a in hs.get("/assignments").json["assignments"]]


def test_rule_naming_a_missing_upload_stops_start_up(launcher, tmp_path):
    """A rule naming an assignment that neither the config nor the store has: exit 2."""
    stderr = harness.serve_expecting_config_error(
        tmp_path, lambda cfg: cfg["rules"][1].update(assignment="never-uploaded"))
    assert "config error: rules[1].assignment: names no assignment 'never-uploaded'" in stderr


def test_non_zip_bad_name_and_oversized_uploads_are_refused(launcher):
    """Not a zip: 400 naming the body; a bad name: 400; over maxUploadBytes: 413, while the
    same size is not allowed on candidate routes."""
    def edit(cfg):
        cfg["server"]["maxUploadBytes"] = 200_000
    hs = launcher.start(edit=edit)
    r = _put(hs, "notzip", b"this is plain text, not an archive at all")
    assert r.status == 400 and r.json["error"]["field"] == "body", r
    r = hs.request("PUT", "/assignments/x", raw=_zip("x"),
                   headers={"Content-Type": "text/plain"})
    assert r.status == 400 and r.json["error"]["field"] == "Content-Type", r
    r = _put(hs, "bad.name", _zip("x"))
    assert r.status == 400 and r.json["error"]["field"] == "name", r
    big = _zip("x" * 10) + b"\0" * 150_000  # over 64 KiB, under the upload bound
    r = _put(hs, "big", big)
    assert r.status == 400 and r.json["error"]["field"] == "body", r  # reached the handler
    r = _put(hs, "huge", b"\0" * 250_000)
    assert r.status == 413, r
    r = hs.request("POST", "/candidates", raw=b" " * 100_000,
                   headers={"Content-Type": "application/json"})
    assert r.status == 413, r
