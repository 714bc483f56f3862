"""Outbox mode: without an SMTP URL each candidate's mail is written as one .eml file."""

import glob
import os
import time

import harness
from harness import check_assignment_mail


def _emls(folder):
    return sorted(glob.glob(os.path.join(folder, "*.eml")))


def test_outbox_mode_writes_one_eml_per_candidate(launcher):
    """No SMTP URL: one .eml per candidate in the outbox folder, addressed and with the zip."""
    hs = launcher.start(smtp_url=None)
    outbox = launcher.outbox_dir
    people = [("Linus Torvalds", "linus@example.com", 30, "assignment3"),
              ("Margaret Hamilton", "margaret@example.com", 6.5, "assignment2")]
    ids = {}
    for name, addr, exp, _ in people:
        r = hs.post("/candidates", {"fullname": name, "email": addr, "skills": "c",
                                    "experience": exp})
        assert r.status == 201, r
        ids[addr] = r.json["candidateId"]

    harness.wait_until(lambda: len(_emls(outbox)) >= 2, timeout=10,
                       message=f"2 .eml files in {outbox}")
    for cid in ids.values():
        hs.wait_delivery(cid, "SENT")
    time.sleep(1.0)  # hold: no duplicate file may appear
    files = _emls(outbox)
    assert len(files) == 2, files

    by_rcpt = {}
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        msg = harness.parse_mail(data)
        by_rcpt[msg["To"].addresses[0].addr_spec.lower()] = data
    assert sorted(by_rcpt) == sorted(ids), by_rcpt.keys()
    for name, addr, _, assignment in people:
        cand = hs.candidate(ids[addr])
        check_assignment_mail(by_rcpt[addr], to=addr, fullname=name, assignment=assignment,
                              public_url=hs.url, message_id=cand["delivery"]["messageId"])
