"""Start-up, configuration errors and the health check."""

import os
import re
import subprocess

import pytest

import harness


def test_healthz(launcher):
    """GET /healthz answers 200 {"status": "ok"} with each stream function's state."""
    hs = launcher.start()
    r = hs.get("/healthz")
    assert r.status == 200, r
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    assert r.json["status"] == "ok", r.json
    fn = r.json["functions"]["sendAssignment"]
    assert fn["state"] == "Enabled" and fn["iteratorAgeMs"] == 0, fn
    assert set(r.json) == {"status", "functions"}, r.json


def test_startup_lines_and_config_from_env(launcher, smtp):
    """Start-up prints version, api, mail and data lines; HIRESTREAM_CONFIG works like --config."""
    hs = launcher.start(smtp_url=smtp.url)
    lines = [line for line in hs.stdout_lines if line is not None]
    assert re.fullmatch(r"hirestream \S+", lines[0]), lines
    assert re.fullmatch(r"http://127\.0\.0\.1:[1-9][0-9]*", hs.url), hs.url
    assert hs.line("mail: ") and len(hs.line("mail: ")) > len("mail: "), lines
    data_line = hs.line("data: ")
    assert data_line and launcher.data_dir in data_line, (data_line, launcher.data_dir)
    hs.terminate()

    # Same config through the environment instead of --config.
    env = harness.base_env(HIRESTREAM_CONFIG=hs.config_path, HIRESTREAM_DATA=launcher.data_dir,
                           HIRESTREAM_SMTP_URL=smtp.url)
    proc = subprocess.Popen([harness.BINARY, "serve"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=hs.workdir)
    try:
        line = ""
        for _ in range(10):
            line = proc.stdout.readline().decode("utf-8", "replace")
            if line.startswith("api: ") or not line:
                break
        assert line.startswith("api: "), (line, proc.poll())
        url = line[len("api: "):].strip()
        r = harness.request(url, "GET", "/healthz")
        assert r.status == 200, r
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def _unknown_assignment(cfg):
    cfg["rules"][0]["assignment"] = "assignment9"


def _zero_shards(cfg):
    cfg["tables"]["candidates"]["shards"] = 0


@pytest.mark.parametrize("edit,key", [
    (_unknown_assignment, "rules[0].assignment"),
    (_zero_shards, "tables.candidates.shards"),
])
def test_invalid_config_exits_2_naming_the_key(tmp_path, edit, key):
    """An invalid config stops start-up with status 2 and a message naming the offending key."""
    if not os.access(harness.BINARY, os.X_OK):
        pytest.fail(f"hirestream binary not found at {harness.BINARY}")
    stderr = harness.serve_expecting_config_error(tmp_path, edit)
    assert key in stderr, stderr
