"""Disk trouble: a full disk (a small tmpfs the test mounts) and a database whose file system
the kernel turns read-only under the running service (ext4 on a loop device, errors=remount-ro).
Writes answer 503 with a clear error, reads keep working, nothing acknowledged is lost; the
service recovers by itself when space returns, and after fsck and a restart from a read-only
file system (which Linux keeps read-only until it is unmounted)."""

import errno
import os
import shutil
import subprocess
import time
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
    assert r.status == 503 and "full" in r.json["problem"], r

    # Space returns: the very next write succeeds, without a restart.
    os.remove(filler)
    r = post(hs, f"after-{t}@example.com")
    assert r.status == 201, r
    acknowledged[r.json["candidateId"]] = f"after-{t}@example.com"
    # (A background pass that failed while the disk was full may be reported until the next.)
    harness.wait_until(lambda: hs.get("/healthz").status == 200, timeout=15,
                       message="/healthz to answer 200 again")
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


# --------------------------------------------------------------------------- read-only

def run(*cmd, timeout=30):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout)


class Ext4Disk:
    """A 64 MiB ext4 image on a loop device, mounted with errors=remount-ro (the default of most
    distributions' root file systems): after an error the kernel refuses every write to it,
    while the files stay open and readable."""

    def __init__(self, root):
        self.image = root / "ext4.img"
        self.mountpoint = root / "ext4"
        self.device = None
        self.mounted = False

    def setup(self):
        """Returns None when ready, else why it cannot be done here."""
        if os.geteuid() != 0:
            return "attaching a loop device and mounting it needs root"
        for tool in ("losetup", "mkfs.ext4", "e2fsck", "mount", "umount"):
            if shutil.which(tool) is None:
                return f"{tool} is not installed"
        with open("/proc/filesystems") as f:
            if "ext4" not in f.read().split():
                return "the kernel has no ext4 (not in /proc/filesystems)"
        if not os.path.exists("/dev/loop-control"):
            return "no loop devices (/dev/loop-control is missing)"
        with open(self.image, "wb") as f:
            f.truncate(64 << 20)
        made = run("mkfs.ext4", "-q", "-F", str(self.image))
        if made.returncode != 0:
            return f"mkfs.ext4 failed: {made.stderr.strip()}"
        attached = run("losetup", "--find", "--show", str(self.image))
        if attached.returncode != 0:
            return f"cannot attach a loop device: {attached.stderr.strip()}"
        self.device = attached.stdout.strip()
        os.makedirs(self.mountpoint, exist_ok=True)
        if not self.mount():
            return f"cannot mount {self.device}: {self.last_error}"
        if not os.path.exists(self.trigger_path()):
            return f"the kernel does not offer {self.trigger_path()}"
        return None

    def trigger_path(self):
        return f"/sys/fs/ext4/{os.path.basename(self.device)}/trigger_fs_error"

    def mount(self):
        done = run("mount", "-t", "ext4", "-o", "errors=remount-ro", self.device,
                   str(self.mountpoint))
        self.last_error = done.stderr.strip()
        self.mounted = done.returncode == 0
        return self.mounted

    def umount(self):
        done = run("umount", str(self.mountpoint))
        assert done.returncode == 0, f"umount {self.mountpoint}: {done.stderr}"
        self.mounted = False

    def fsck(self):
        """Repairs the file system (unmounted); returns e2fsck's exit status."""
        return run("e2fsck", "-f", "-y", self.device, timeout=60).returncode

    def writable(self):
        probe = self.mountpoint / ".probe"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT, 0o600)
        except OSError as e:
            assert e.errno == errno.EROFS, e
            return False
        os.close(fd)
        os.remove(probe)
        return True

    def fail(self):
        """An ext4 error, as a corrupted block or a failed journal write raises: the kernel
        aborts the journal and, errors=remount-ro, refuses writes from now on."""
        with open(self.trigger_path(), "w") as f:
            f.write("hirestream test: the disk under the database fails")
        harness.wait_until(lambda: not self.writable(), timeout=5,
                           message=f"{self.mountpoint} to turn read-only")

    def teardown(self):
        if self.mounted:
            if run("umount", str(self.mountpoint)).returncode != 0:
                run("umount", "-l", str(self.mountpoint))
        if self.device:
            run("losetup", "-d", self.device)
        if os.path.exists(self.image):
            os.remove(self.image)


@pytest.fixture
def ext4_disk(launcher, tmp_path):
    """An ext4 file system on a loop device at tmp_path/ext4, gone after the test (its
    hirestream processes are killed first, so the unmount is not busy)."""
    disk = Ext4Disk(tmp_path)
    try:
        why = disk.setup()
        if why is not None:
            print(f"read-only database test skipped: {why}")
            pytest.skip(f"cannot make a file system to turn read-only: {why}")
        yield disk
    finally:
        launcher.close()
        disk.teardown()


def stored_ids(hs):
    ids, cursor = [], None
    while True:
        r = hs.get("/candidates?limit=100" + (f"&cursor={cursor}" if cursor else ""))
        assert r.status == 200, r
        ids += [c["id"] for c in r.json["candidates"]]
        cursor = r.json.get("nextCursor")
        if not cursor:
            return ids


def test_read_only_database_answers_503_serves_reads_and_loses_nothing_after_restart(
        launcher, smtp, tmp_path, ext4_disk):
    """The file system under the database turns read-only while hirestream runs: writes
    answer 503 saying so, reads and /healthz answer, the mail pipeline waits instead of
    mailing what it cannot record. Linux keeps such a file system read-only until it is
    unmounted, so recovery is stop, fsck, mount, start: then every acknowledged candidate is
    there, nothing refused is, and each is mailed exactly once."""
    data = ext4_disk.mountpoint / "data"
    outbox = tmp_path / "outbox"
    hs = launcher.start(smtp_url=smtp.url, data_dir=str(data), outbox_dir=str(outbox))
    t = uuid.uuid4().hex[:8]
    acknowledged = {}
    for i in range(3):
        email = f"sent{i}-{t}@example.com"
        r = post(hs, email)
        assert r.status == 201, r
        acknowledged[r.json["candidateId"]] = email
    for cid in acknowledged:
        hs.wait_delivery(cid, "SENT")
    # These wait for the SMTP server (451) when the disk fails: they go out after recovery.
    pending = {}
    for i in range(3):
        email = f"pending{i}-{t}@example.com"
        smtp.fail_transient(email, times=1_000_000)
        r = post(hs, email)
        assert r.status == 201, r
        pending[r.json["candidateId"]] = email
    acknowledged.update(pending)
    for cid in pending:
        hs.wait_delivery(cid, "RETRY")

    ext4_disk.fail()
    refused = post(hs, f"refused-{t}@example.com")
    assert_error(refused, 503, "unavailable")
    assert "read-only" in refused.json["error"]["message"], refused.json
    retried = {"fullname": "Disk Trouble", "email": f"retried-{t}@example.com",
               "skills": "ops", "experience": 3}
    idem = {"Idempotency-Key": f"read-only-{t}"}
    r = hs.post("/candidates", retried, headers=idem)
    assert_error(r, 503, "unavailable")
    some_id = next(iter(acknowledged))
    r = hs.patch(f"/candidates/{some_id}", {"skills": "changed while read-only"})
    assert_error(r, 503, "unavailable")
    assert "read-only" in r.json["error"]["message"], r.json
    # Reads keep working: every acknowledged candidate, unchanged.
    for cid, email in acknowledged.items():
        c = hs.candidate(cid)
        assert c["email"] == email and c["skills"] == "ops", c
    assert sorted(stored_ids(hs)) == sorted(acknowledged)
    health = hs.get("/healthz")
    assert health.status == 503, health
    assert health.json["status"] == "degraded", health.json
    assert "read-only" in health.json["problem"], health.json
    # The stream consumer and the delivery worker back off rather than spin or crash.
    lines_before = len(hs.stderr_tail(max_lines=10**6).splitlines())
    time.sleep(2.0)
    assert hs.alive(), hs.stderr_tail()
    logged = len(hs.stderr_tail(max_lines=10**6).splitlines()) - lines_before
    assert logged < 100, f"{logged} log lines in 2 s while read-only"
    assert hs.get(f"/candidates/{some_id}").status == 200

    assert hs.terminate() == 0
    assert "read-only" in hs.stderr_tail()
    # Still read-only: a new start refuses clearly rather than blaming another process.
    blocked = launcher.start(smtp_url=smtp.url, data_dir=str(data), outbox_dir=str(outbox),
                             wait=False)
    assert blocked.proc.wait(timeout=15) == 1
    assert "Read-only file system" in blocked.stderr_tail(), blocked.stderr_tail()
    assert "another hirestream" not in blocked.stderr_tail()

    ext4_disk.umount()
    assert ext4_disk.fsck() in (0, 1)  # 1: errors were corrected
    assert ext4_disk.mount(), ext4_disk.last_error
    for email in pending.values():
        smtp.heal(email)
    hs2 = launcher.start(smtp_url=smtp.url, data_dir=str(data), outbox_dir=str(outbox))
    assert sorted(stored_ids(hs2)) == sorted(acknowledged)
    for cid, email in acknowledged.items():
        assert hs2.candidate(cid)["email"] == email
    r = post(hs2, f"after-{t}@example.com")
    assert r.status == 201, r
    acknowledged[r.json["candidateId"]] = f"after-{t}@example.com"
    # The request refused while read-only, retried with its Idempotency-Key, now creates it.
    r = hs2.post("/candidates", retried, headers=idem)
    assert r.status == 201, r
    acknowledged[r.json["candidateId"]] = retried["email"]
    assert hs2.get("/healthz").status == 200
    for cid in acknowledged:
        hs2.wait_delivery(cid, "SENT", timeout=20)
    time.sleep(0.5)  # hold: a duplicate would show up now
    for email in acknowledged.values():
        assert smtp.count(to=email) == 1, (email, smtp.count(to=email))
