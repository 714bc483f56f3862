"""Disk trouble: a full disk (a small tmpfs the test mounts). Writes answer 503 with a clear
error, nothing acknowledged is lost, and the service recovers by itself when space returns."""

import os
import subprocess
import uuid

import pytest

import harness
from harness import assert_error


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True)
    return proc.returncode == 0, proc.stderr.strip()


@pytest.fixture
def small_disk(tmp_path):
    """A 6 MiB tmpfs at tmp_path/disk: a disk that really fills up."""
    path = tmp_path / "disk"
    ok, why = mount_tmpfs(path, "6m")
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot mount a tmpfs for the full-disk test: {why}")
        pytest.skip(f"mounting a tmpfs needs root: {why}")
    yield path
    subprocess.run(["umount", "-l", str(path)], check=False)


def fill(path, leave_bytes):
    """Writes a filler file until at most `leave_bytes` are free; returns its path."""
    filler = os.path.join(path, "filler")
    chunk = b"\0" * 65536
    with open(filler, "wb") as f:
        while True:
            st = os.statvfs(path)
            free = st.f_bavail * st.f_frsize
            if free <= leave_bytes:
                break
            try:
                f.write(chunk[:max(4096, min(len(chunk), free - leave_bytes))])
                f.flush()
            except OSError:
                break
    return filler


def post(hs, email):
    return hs.post("/candidates", {"fullname": "Disk Trouble", "email": email,
                                   "skills": "ops", "experience": 3})


def test_full_disk_answers_503_keeps_what_was_acknowledged_and_recovers(launcher, small_disk):
    data = small_disk / "data"
    outbox = small_disk / "outbox"
    hs = launcher.start(data_dir=str(data), outbox_dir=str(outbox), function_enabled=False)
    t = uuid.uuid4().hex[:8]
    acknowledged = {}
    for i in range(5):
        r = post(hs, f"before{i}-{t}@example.com")
        assert r.status == 201, r
        acknowledged[r.json["candidateId"]] = f"before{i}-{t}@example.com"

    filler = fill(small_disk, leave_bytes=0)
    refused = None
    for i in range(200):  # the WAL's free pages absorb a few writes before the disk says no
        r = post(hs, f"full{i}-{t}@example.com")
        if r.status == 201:
            acknowledged[r.json["candidateId"]] = f"full{i}-{t}@example.com"
            continue
        refused = r
        break
    assert refused is not None, "200 writes on a full disk were all accepted"
    assert_error(refused, 503, "unavailable")
    assert "full" in refused.json["error"]["message"] or \
        "space" in refused.json["error"]["message"], refused.json
    # Reads keep working, and every acknowledged candidate is there.
    for cid, email in acknowledged.items():
        assert hs.candidate(cid)["email"] == email
    r = hs.get("/healthz")
    assert r.status in (200, 503), r

    # Space returns: the very next write succeeds, without a restart.
    os.remove(filler)
    r = post(hs, f"after-{t}@example.com")
    assert r.status == 201, r
    acknowledged[r.json["candidateId"]] = f"after-{t}@example.com"
    assert hs.terminate() == 0
    hs2 = launcher.start(data_dir=str(data), outbox_dir=str(outbox), function_enabled=False)
    for cid, email in acknowledged.items():
        assert hs2.candidate(cid)["email"] == email, cid
    assert "database is full" in hs.stderr_tail() or "no space" in hs.stderr_tail()


def test_full_disk_delays_mail_and_each_candidate_is_mailed_once_when_space_returns(
        launcher, small_disk):
    """With the pipeline on: while the disk is full, the outbox cannot take messages and the
    store cannot take outcomes; once space returns every acknowledged candidate gets exactly
    one email."""
    data = small_disk / "data"
    outbox = small_disk / "outbox"
    hs = launcher.start(data_dir=str(data), outbox_dir=str(outbox))
    t = uuid.uuid4().hex[:8]
    filler = fill(small_disk, leave_bytes=256 * 1024)
    acknowledged = {}
    for i in range(300):
        r = post(hs, f"mail{i}-{t}@example.com")
        if r.status != 201:
            assert_error(r, 503, "unavailable")
            break
        acknowledged[r.json["candidateId"]] = f"mail{i}-{t}@example.com"
    else:
        pytest.fail("300 writes fitted in 256 KiB: the disk never filled")
    assert acknowledged, "nothing was accepted before the disk filled"
    os.remove(filler)
    for cid in acknowledged:
        hs.wait_delivery(cid, "SENT", timeout=30)
    files = [f for f in os.listdir(outbox) if f.endswith(".eml")]
    assert len(files) == len(acknowledged), (len(files), len(acknowledged))
    recipients = []
    for name in files:
        msg = harness.parse_mail(open(os.path.join(outbox, name), "rb").read())
        recipients.append(msg["To"].addresses[0].addr_spec)
    assert sorted(recipients) == sorted(acknowledged.values())
