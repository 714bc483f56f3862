"""Submitting a candidate mails the right assignment exactly once (one shared server)."""

import time
import uuid

import pytest

import harness
from harness import assignment_bytes, check_assignment_mail

SEED_BODY = (b'{"fullname":"Shekhar Gulati", "email": "shekhar@example.com", '
             b'"skills": "java", "experience": 12}')


def _post_ok(hs, body):
    r = hs.post("/candidates", body)
    assert r.status == 201, r
    return r.json["candidateId"]


def test_seed_request_is_accepted_and_mailed(shared):
    """The seed's exact request still works: 201, the seed's answer, and one email (assignment3)."""
    hs, smtp = shared
    before = int(time.time() * 1000)
    r = hs.post("/candidates", raw=SEED_BODY)
    assert r.status == 201, r
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    body = r.json
    assert set(body) == {"message", "candidateId"}, body
    assert body["message"] == "Sucessfully submitted candidate with email shekhar@example.com"
    cid = body["candidateId"]
    assert harness.UUID_RE.match(cid) and str(uuid.UUID(cid)) == cid, cid
    assert r.headers.get("location") == f"/candidates/{cid}", r.headers

    msgs = smtp.wait_messages("shekhar@example.com")
    cand = hs.wait_delivery(cid, "SENT")
    assert len(msgs) == 1
    assert msgs[0]["rcpt_tos"] == ["shekhar@example.com"]
    check_assignment_mail(msgs[0]["data"], to="shekhar@example.com", fullname="Shekhar Gulati",
                          assignment="assignment3", public_url=hs.url,
                          message_id=cand["delivery"]["messageId"])

    # The stored candidate, as GET shows it.
    assert cand["id"] == cid
    assert cand["fullname"] == "Shekhar Gulati"
    assert cand["email"] == "shekhar@example.com"
    assert cand["skills"] == "java"
    assert cand["experience"] == 12 and not isinstance(cand["experience"], (str, bool))
    assert cand["evaluated"] is False
    assert cand.get("recruiterEmail") is None
    assert cand["assignment"] == "assignment3"
    for key in ("submittedAt", "updatedAt"):
        assert isinstance(cand[key], int) and not isinstance(cand[key], bool), cand
        assert before - 5000 <= cand[key] <= int(time.time() * 1000) + 5000, cand
    d = cand["delivery"]
    assert d["attempts"] >= 1 and isinstance(d["sentAt"], int), d


@pytest.mark.parametrize("experience,assignment", [
    (0, "assignment1"), (3, "assignment1"), (5, "assignment1"),
    (6, "assignment2"), (8, "assignment2"),
    (9, "assignment3"), (12, "assignment3"),
])
def test_experience_picks_assignment(shared, experience, assignment):
    """Each experience band gets its own assignment, once, with the right zip and link."""
    hs, smtp = shared
    addr = f"exp{experience}-{uuid.uuid4().hex[:8]}@example.com"
    name = f"Candidate Exp{experience}"
    cid = _post_ok(hs, {"fullname": name, "email": addr, "skills": "go",
                        "experience": experience})
    msgs = smtp.wait_messages(addr)
    cand = hs.wait_delivery(cid, "SENT")
    check_assignment_mail(msgs[0]["data"], to=addr, fullname=name, assignment=assignment,
                          public_url=hs.url, message_id=cand["delivery"]["messageId"])
    assert cand["assignment"] == assignment, cand
    time.sleep(1.0)  # hold: a duplicate would arrive within the retry backoff
    assert smtp.count(addr) == 1, [m["rcpt_tos"] for m in smtp.messages(addr)]
    assert hs.candidate(cid)["delivery"]["state"] == "SENT"


def test_link_in_mail_downloads_the_zip(shared):
    """The signed link in the email serves the same bytes as the attachment's file, without any
    API key, and moves the candidate from INVITED to DOWNLOADED."""
    hs, smtp = shared
    addr = f"link-{uuid.uuid4().hex[:8]}@example.com"
    cid = _post_ok(hs, {"fullname": "Link Tester", "email": addr, "skills": "c++",
                        "experience": 7})
    msg = harness.parse_mail(smtp.wait_messages(addr)[0]["data"])
    links = harness.signed_links_in(msg, hs.url)
    assert len(links) == 1 and links[0].startswith(f"{hs.url}/d/{cid}.assignment2."), links
    cand = hs.wait_delivery(cid, "SENT")
    assert cand["progress"] == "INVITED" and cand["downloads"] == [], cand
    r = hs.get(links[0][len(hs.url):])
    assert r.status == 200, r
    assert r.headers.get("content-type", "").startswith("application/zip"), r.headers
    assert r.body == assignment_bytes("assignment2")
    cand = hs.candidate(cid)
    assert cand["progress"] == "DOWNLOADED", cand
    assert len(cand["downloads"]) == 1 and cand["downloads"][0]["client"] == "127.0.0.1", cand
    assert cand["downloads"][0]["assignment"] == "assignment2"


def test_non_ascii_name_is_encoded_in_headers(shared):
    """A non-ASCII full name is RFC 2047-encoded in headers and decodes back; body greets it."""
    hs, smtp = shared
    addr = f"jose-{uuid.uuid4().hex[:8]}@example.com"
    name = "José Müller"
    cid = _post_ok(hs, {"fullname": name, "email": addr, "skills": "rust", "experience": 2})
    data = smtp.wait_messages(addr)[0]["data"]
    header_block = data.split(b"\r\n\r\n", 1)[0]
    # Raw headers must be 7-bit: non-ASCII text appears only as encoded-words.
    assert all(b < 128 for b in header_block), header_block
    assert b"=?" in header_block, header_block
    msg = check_assignment_mail(data, to=addr, fullname=name, assignment="assignment1",
                                public_url=hs.url)
    assert msg["To"].addresses[0].display_name == name, str(msg["To"])
    assert hs.candidate(cid)["fullname"] == name
