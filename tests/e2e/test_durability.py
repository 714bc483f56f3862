"""Exactly-once mail across crashes (SIGKILL), restarts and an SMTP outage."""

import re
import threading
import time

import harness
from harness import check_assignment_mail


def test_crash_before_send_then_restart_mails_each_once(launcher, smtp):
    """Candidates accepted while the function is off are mailed once after a crash and restart."""
    hs = launcher.start(smtp_url=smtp.url, function_enabled=False)
    people = [("Alan Turing", "alan@example.com", 1, "assignment1"),
              ("Barbara Liskov", "barbara@example.com", 7, "assignment2"),
              ("Edsger Dijkstra", "edsger@example.com", 20, "assignment3")]
    ids = {}
    for name, addr, exp, _ in people:
        r = hs.post("/candidates", {"fullname": name, "email": addr, "skills": "algol",
                                    "experience": exp})
        assert r.status == 201, r
        ids[addr] = r.json["candidateId"]
    for cid in ids.values():
        c = hs.candidate(cid)
        assert c["delivery"] is None and c["assignment"] is None, c
    time.sleep(0.5)  # hold: a disabled function must not mail
    assert smtp.count() == 0
    hs.kill()

    hs2 = launcher.start(smtp_url=smtp.url, function_enabled=True)
    for name, addr, _, assignment in people:
        msgs = smtp.wait_messages(addr)
        cand = hs2.wait_delivery(ids[addr], "SENT")
        assert cand["assignment"] == assignment
        check_assignment_mail(msgs[0]["data"], to=addr, fullname=name, assignment=assignment,
                              public_url=hs2.url, message_id=cand["delivery"]["messageId"])
    time.sleep(1.0)
    assert sorted(m["rcpt_tos"][0] for m in smtp.messages()) == sorted(ids)


def test_crash_under_load_then_restart_mails_each_once(launcher, smtp):
    """SIGKILL right after the last 201 of 30: after restart each accepted candidate has one mail,
    except inside SMTP's documented window, whose duplicates are counted and must be explained."""
    hs = launcher.start(smtp_url=smtp.url)
    accepted, refused = {}, []
    lock = threading.Lock()

    def worker(t):
        for j in range(10):
            addr = f"load{t}-{j}@example.com"
            r = hs.post("/candidates", {"fullname": f"Load {t} {j}", "email": addr,
                                        "skills": "ops", "experience": (t * 10 + j) % 12})
            with lock:
                if r.status == 201:
                    accepted[addr] = r.json["candidateId"]
                else:
                    refused.append(r)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    hs.kill()  # no waiting: some mails are in flight or not yet started
    assert not refused, refused
    assert len(accepted) == 30
    sent_before_crash = smtp.count()

    hs2 = launcher.start(smtp_url=smtp.url)
    harness.wait_until(lambda: all(smtp.count(a) >= 1 for a in accepted), timeout=30,
                       message=f"a mail for each of 30 (before crash: {sent_before_crash})")
    for cid in accepted.values():
        assert hs2.wait_delivery(cid, "SENT")
    time.sleep(1.0)  # hold: a duplicate would arrive within the retry backoff
    counts = {a: smtp.count(a) for a in accepted}
    dupes = {a: n for a, n in counts.items() if n != 1}
    # The one window SMTP cannot close: the server took the message, the kill came before its
    # reply was recorded. Such a delivery was SENDING at the kill, is requeued at the restart
    # (the log says how many), goes out a second time with the same Message-ID, and only then.
    requeued = int(re.search(r"requeued count=(\d+)", hs2.stderr_tail(1000)).group(1)) \
        if re.search(r"requeued count=(\d+)", hs2.stderr_tail(1000)) else 0
    for addr, n in dupes.items():
        ids = sorted({str(harness.parse_mail(m["data"])["Message-ID"]) for m in smtp.messages(addr)})
        assert len(ids) == 1, f"duplicates to {addr} carry different Message-IDs: {ids}"
        assert n == 2, f"{addr} received {n} copies: more than the window allows"
        assert hs2.candidate(accepted[addr])["delivery"]["attempts"] == 2, addr
    assert len(dupes) <= requeued, (f"{len(dupes)} duplicates but only {requeued} sends were "
                                    f"interrupted: {dupes}")
    assert smtp.count() == 30 + len(dupes)
    print(f"\ncrash under load: {len(dupes)} duplicate(s) inside the documented SMTP window "
          f"({requeued} interrupted send(s) requeued, {sent_before_crash} sent before the kill)")


def test_smtp_down_then_up_mails_once(launcher, smtp):
    """An unreachable SMTP server leaves the delivery in RETRY; after a restart it is sent once."""
    closed = harness.free_port()
    hs = launcher.start(smtp_url=f"smtp://127.0.0.1:{closed}")
    addr = "outage@example.com"
    r = hs.post("/candidates", {"fullname": "Out Age", "email": addr, "skills": "sre",
                                "experience": 6})
    assert r.status == 201, r
    cid = r.json["candidateId"]
    retry = harness.wait_until(
        lambda: (lambda c: c if c["delivery"] and c["delivery"]["state"] == "RETRY"
                 and c["delivery"]["attempts"] >= 1 else None)(hs.candidate(cid)),
        timeout=10, interval=0.01, message="delivery in RETRY with attempts >= 1")
    assert isinstance(retry["delivery"]["nextAttemptAt"], int), retry["delivery"]
    assert retry["delivery"]["sentAt"] is None, retry["delivery"]
    hs.terminate(timeout=10)

    hs2 = launcher.start(smtp_url=smtp.url)
    msgs = smtp.wait_messages(addr)
    cand = hs2.wait_delivery(cid, "SENT")
    check_assignment_mail(msgs[0]["data"], to=addr, fullname="Out Age", assignment="assignment2",
                          public_url=hs2.url, message_id=cand["delivery"]["messageId"])
    assert cand["delivery"]["attempts"] >= retry["delivery"]["attempts"]
    time.sleep(1.0)
    assert smtp.count() == 1
