"""API keys against the real binary: a recruiter key's use, the first start's admin key, the
keys CLI beside a running server, and Idempotency-Key on POST /candidates. The auth rules of
every route, CORS and the bad-key slowdown are in test_api_contract.py."""

import re

import harness
from harness import candidate_body as candidate


def test_recruiter_key_works_on_candidates(launcher):
    """A recruiter key creates, reads, changes and deletes candidates."""
    hs = launcher.start()
    key = hs.post("/keys", {"role": "recruiter"}).json["key"]
    r = hs.post("/candidates", candidate(), api_key=key)
    assert r.status == 201, r
    cid = r.json["candidateId"]
    assert hs.get(f"/candidates/{cid}", api_key=key).status == 200
    assert hs.get("/candidates", api_key=key).status == 200
    assert hs.patch(f"/candidates/{cid}", {"skills": "rust"}, api_key=key).status == 200
    assert hs.delete(f"/candidates/{cid}", api_key=key).status == 204
    listed = hs.get("/keys").json["keys"]
    mine = [k for k in listed if k["role"] == "recruiter"]
    assert len(mine) == 1 and mine[0]["lastUsedAt"] is not None, listed
    assert all("key" not in k and "hash" not in k for k in listed), listed


def test_first_start_prints_an_admin_key_once(launcher):
    """Without HIRESTREAM_ADMIN_KEY, the first start prints a working admin key; the second
    start prints none."""
    hs = launcher.start(env={"HIRESTREAM_ADMIN_KEY": None})
    line = hs.line("admin key: ")
    assert line, hs.stdout_lines
    key = line[len("admin key: "):].strip()
    assert re.fullmatch(r"hs_[A-Za-z0-9_-]{43}", key), key
    assert hs.get("/keys", api_key=key).status == 200
    harness.assert_error(hs.get("/keys"), 401, "unauthenticated")  # the test key is not seeded
    assert key not in hs.stderr_tail(100000)
    hs.terminate()
    again = launcher.start(env={"HIRESTREAM_ADMIN_KEY": None})
    assert again.line("admin key: ") is None, again.stdout_lines
    assert again.get("/keys", api_key=key).status == 200


def test_short_admin_key_is_a_config_error(tmp_path):
    """auth.adminKey shorter than 24 characters stops start-up naming the key."""
    stderr = harness.serve_expecting_config_error(
        tmp_path, lambda cfg: cfg.setdefault("auth", {}).update(adminKey="too-short"),
        HIRESTREAM_ADMIN_KEY=None)
    assert "auth.adminKey" in stderr, stderr
    stderr = harness.serve_expecting_config_error(tmp_path, lambda cfg: None,
                                                  HIRESTREAM_ADMIN_KEY="short")
    assert "auth.adminKey" in stderr, stderr


def test_cli_creates_lists_and_revokes_keys_while_the_server_runs(launcher):
    """`hirestream keys` works on the database beside a running server: a created key works at
    once, is listed without its secret, and is refused once revoked."""
    hs = launcher.start()
    env = harness.base_env(HIRESTREAM_DATA=launcher.data_dir)
    created = harness.run_cli("keys", "create", "--role", "recruiter", "--name", "cli key",
                              "--config", hs.config_path, env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("hs_"), created.stdout
    assert hs.get("/candidates", api_key=key).status == 200
    listed = harness.run_cli("keys", "list", "--config", hs.config_path, env=env)
    assert listed.returncode == 0, listed.stderr
    row = [line for line in listed.stdout.splitlines() if "cli key" in line]
    assert len(row) == 1 and "recruiter" in row[0], listed.stdout
    assert key not in listed.stdout
    key_id = row[0].split()[0]
    revoked = harness.run_cli("keys", "revoke", key_id, "--config", hs.config_path, env=env)
    assert revoked.returncode == 0, revoked.stderr
    harness.assert_error(hs.get("/candidates", api_key=key), 401, "unauthenticated")
    assert hs.delete(f"/keys/{key_id}").status == 204
    assert harness.run_cli("keys", "revoke", "key_nope", "--config", hs.config_path,
                           env=env).returncode == 1


def test_idempotency_key_replays_and_refuses_another_body(launcher):
    """POST /candidates retried with the same Idempotency-Key gets the first answer and adds no
    candidate; the same key with another body is 409 naming the header."""
    hs = launcher.start(function_enabled=False)
    body = candidate()
    first = hs.post("/candidates", body, headers={"Idempotency-Key": "retry-1"})
    assert first.status == 201, first
    again = hs.post("/candidates", body, headers={"Idempotency-Key": "retry-1"})
    assert again.status == 201, again
    assert again.json == first.json
    assert again.headers["location"] == first.headers["location"]
    assert again.headers.get("idempotent-replayed") == "true"
    assert len(hs.get("/candidates").json["candidates"]) == 1
    inserts = [r for r in hs.stream_records() if r["eventName"] == "INSERT"]
    assert len(inserts) == 1, inserts
    other = hs.post("/candidates", candidate(), headers={"Idempotency-Key": "retry-1"})
    harness.assert_error(other, 409, "conflict", "Idempotency-Key")
    # Without the header, the duplicate email is refused as before.
    harness.assert_error(hs.post("/candidates", body), 409, "conflict")
