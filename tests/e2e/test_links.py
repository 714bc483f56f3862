"""Signed download links, delivery modes and custom templates, against the real binary and a
real SMTP server."""

import time
import uuid

import harness
from harness import assignment_bytes

DENIED = {"error": {"code": "forbidden", "message": "the link is invalid or has expired",
                    "field": ""}}


def _submit(hs, smtp, experience=7, skills="c++"):
    addr = f"l-{uuid.uuid4().hex[:8]}@example.com"
    r = hs.post("/candidates", {"fullname": "Link <Tester> & Co", "email": addr,
                                "skills": skills, "experience": experience})
    assert r.status == 201, r
    cid = r.json["candidateId"]
    msg = harness.parse_mail(smtp.wait_messages(addr)[0]["data"])
    return cid, msg


def test_tampered_traversal_and_malformed_links_answer_the_same_403(launcher, smtp):
    """Every refused link gets one body, for a real or an invented candidate alike; traversal
    attempts never reach a file."""
    hs = launcher.start(smtp_url=smtp.url)
    cid, msg = _submit(hs, smtp)
    link = harness.signed_links_in(msg, hs.url)[0]
    token = link[len(hs.url) + 3:]
    cand, name, expiry, sig = token.split(".")
    tampered = [
        f"{cand}.assignment3.{expiry}.{sig}",
        f"{cand}.{name}.{int(expiry) + 86400}.{sig}",
        f"{uuid.uuid4()}.{name}.{expiry}.{sig}",
        f"{cand}.{name}.{expiry}.{sig[:-1]}{'A' if sig[-1] != 'A' else 'B'}",
        "garbage", "..", "%2e%2e", "a.b.c.d", f"{cand}.%2e%2e.{expiry}.{sig}",
        f"{cand}.{name}%00.{expiry}.{sig}",
    ]
    for t in tampered:
        r = hs.get("/d/" + t)
        assert r.status == 403, (t, r)
        assert r.json == DENIED, (t, r.json)
    for path in ("/d/../../etc/passwd", "/d/%2e%2e/%2e%2e/etc/passwd", "/d/a%2fb",
                 "/d/..%2f..%2fetc%2fpasswd"):
        r = hs.get(path)
        assert r.status in (403, 404), (path, r)
        assert b"root:" not in r.body
    assert hs.candidate(cid)["downloads"] == []
    assert hs.get(link[len(hs.url):]).body == assignment_bytes("assignment2")


def test_expired_link_is_refused(launcher, smtp):
    """A link past its expiry (mail.links.ttlSeconds: 1) answers the same 403 and records
    nothing."""
    def edit(cfg):
        cfg["mail"]["links"] = {"ttlSeconds": 1}
    hs = launcher.start(smtp_url=smtp.url, edit=edit)
    cid, msg = _submit(hs, smtp)
    link = harness.signed_links_in(msg, hs.url)[0]
    expiry = int(link.split(".")[-2])
    while time.time() < expiry + 0.1:  # the expiry is in whole seconds, at most 2 s away
        time.sleep(0.05)
    r = hs.get(link[len(hs.url):])
    assert r.status == 403 and r.json == DENIED, r
    assert hs.candidate(cid)["downloads"] == []


def test_links_survive_a_restart_with_the_generated_secret(launcher, smtp):
    """Without a configured secret, one is generated once and kept: old links keep working."""
    hs = launcher.start(smtp_url=smtp.url)
    cid, msg = _submit(hs, smtp)
    link = harness.signed_links_in(msg, hs.url)[0]
    hs.close()
    hs2 = launcher.start(smtp_url=smtp.url)
    r = hs2.get(link[len(hs.url):])
    assert r.status == 200 and r.body == assignment_bytes("assignment2"), r
    assert hs2.candidate(cid)["progress"] == "DOWNLOADED"


def test_delivery_modes_link_and_attach(launcher, smtp):
    """`delivery: link` attaches nothing; `attach` carries no link."""
    def edit(cfg):
        cfg["assignments"]["assignment2"]["delivery"] = "link"
        cfg["assignments"]["assignment3"]["delivery"] = "attach"
    hs = launcher.start(smtp_url=smtp.url, edit=edit)
    _, link_msg = _submit(hs, smtp, experience=7)
    assert list(link_msg.iter_attachments()) == []
    assert len(harness.signed_links_in(link_msg, hs.url)) == 1
    _, attach_msg = _submit(hs, smtp, experience=12)
    atts = list(attach_msg.iter_attachments())
    assert [a.get_filename() for a in atts] == ["assignment3.zip"]
    assert atts[0].get_content() == assignment_bytes("assignment3")
    assert harness.links_in(attach_msg) == []


def test_custom_template_files_are_used(launcher, smtp, tmp_path):
    """Template files replace the built-in ones; HTML escapes the name, text does not."""
    (tmp_path / "subject.txt").write_text("Your round, {{fullname}}\n")
    (tmp_path / "text.txt").write_text("Dear {{fullname}} ({{skills}}),\n{{downloadUrl}}\n"
                                       "expires {{downloadExpiresAt}}\n")
    (tmp_path / "body.html").write_text("<p>Dear {{fullname}}</p>")

    def edit(cfg):
        cfg["mail"]["templates"] = {"subject": str(tmp_path / "subject.txt"),
                                    "text": str(tmp_path / "text.txt"),
                                    "html": str(tmp_path / "body.html")}
    hs = launcher.start(smtp_url=smtp.url, edit=edit)
    _, msg = _submit(hs, smtp)
    assert str(msg["Subject"]) == "Your round, Link <Tester> & Co"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert text.startswith("Dear Link <Tester> & Co (c++),"), text
    assert "expires 20" in text and text.count("/d/") == 1, text
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "<p>Dear Link &lt;Tester&gt; &amp; Co</p>" in html, html


def test_bad_template_stops_start_up_naming_the_key(launcher, tmp_path):
    """A template that does not parse is a config error: exit 2, naming the key."""
    (tmp_path / "bad.html").write_text("<p>{{#attached}}</p>")
    stderr = harness.serve_expecting_config_error(
        tmp_path, lambda cfg: cfg["mail"].update(templates={"html": str(tmp_path / "bad.html")}))
    assert "config error: mail.templates.html: " in stderr, stderr
