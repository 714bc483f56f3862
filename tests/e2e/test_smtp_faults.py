"""SMTP replies drive the delivery state: 4xx retries until accepted, 5xx fails for good."""

import time

import pytest

import harness
from harness import check_assignment_mail


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
def test_transient_reply_retries_then_sends_once(launcher, smtp, stage):
    """451 on the first two attempts: RETRY is visible, then SENT, with one message accepted."""
    addr = f"busy-{stage.lower()}@example.com"
    smtp.fail_transient(addr, 2, stage)
    hs = launcher.start(smtp_url=smtp.url)
    r = hs.post("/candidates", {"fullname": "Busy Bee", "email": addr, "skills": "k8s",
                                "experience": 4})
    assert r.status == 201, r
    cid = r.json["candidateId"]

    retry = hs.wait_delivery(cid, ("RETRY", "SENT"), interval=0.005)["delivery"]
    assert retry["state"] == "RETRY", f"RETRY never observed: {retry}"
    assert retry["attempts"] >= 1 and "451" in retry["lastReply"], retry
    assert isinstance(retry["nextAttemptAt"], int), retry

    msgs = smtp.wait_messages(addr)
    cand = hs.wait_delivery(cid, "SENT")
    d = cand["delivery"]
    assert isinstance(d["sentAt"], int) and d["attempts"] >= 2, d
    check_assignment_mail(msgs[0]["data"], to=addr, fullname="Busy Bee", assignment="assignment1",
                          public_url=hs.url, message_id=d["messageId"])
    time.sleep(1.0)
    assert smtp.count() == 1
    assert smtp.rcpt_attempts(addr) == 3, "expected 2 refused attempts and 1 accepted"


def test_permanent_reply_fails_without_retry(launcher, smtp):
    """550 5.1.1: FAILED with the server's reply, never retried; other candidates still mailed."""
    bad, good = "nobody@example.com", "somebody@example.com"
    smtp.fail_permanent(bad)
    hs = launcher.start(smtp_url=smtp.url)
    r = hs.post("/candidates", {"fullname": "No Body", "email": bad, "skills": "x",
                                "experience": 9})
    assert r.status == 201, r
    bad_id = r.json["candidateId"]
    r = hs.post("/candidates", {"fullname": "Some Body", "email": good, "skills": "y",
                                "experience": 9})
    assert r.status == 201, r

    d = hs.wait_delivery(bad_id, ("FAILED", "SENT"))["delivery"]
    assert d["state"] == "FAILED", d
    assert "550" in d["lastReply"], d
    assert d["attempts"] == 1 and d["nextAttemptAt"] is None and d["sentAt"] is None, d
    smtp.wait_messages(good)

    time.sleep(1.5)  # hold: well past the 500 ms maximum backoff
    assert smtp.rcpt_attempts(bad) == 1, "a 5xx reply was retried"
    assert smtp.count(bad) == 0 and smtp.count() == 1
    after = harness.wait_until(lambda: hs.candidate(bad_id), message="candidate")["delivery"]
    assert after["state"] == "FAILED" and after["attempts"] == 1, after
