"""API keys and roles, the OpenAPI document, CORS, the bad-key slowdown, the keys CLI and
Idempotency-Key on POST /candidates, against the real binary."""

import re
import uuid

import pytest

import harness

OPEN = {("get", "/healthz"), ("get", "/d/{token}"), ("get", "/openapi.json"), ("get", "/metrics")}


def concrete(path):
    """A documented path with its {params} filled in."""
    return re.sub(r"\{[^}]+\}", lambda m: "1" if m.group(0) == "{id}" else "x", path)


def operations(hs):
    doc = hs.get("/openapi.json", api_key=None)
    assert doc.status == 200, doc
    assert doc.json["openapi"].startswith("3.0."), doc.json["openapi"]
    return [(m, p, o) for p, item in doc.json["paths"].items() for m, o in item.items()]


def candidate(**kw):
    body = {"fullname": "Ada Lovelace", "email": f"ada-{uuid.uuid4().hex[:8]}@example.com",
            "skills": "c++", "experience": 3}
    body.update(kw)
    return body


def test_every_protected_route_needs_a_key_and_admin_routes_an_admin(launcher):
    """Iterating the OpenAPI document: each protected operation answers 401 unauthenticated
    without a key or with a wrong one, admin operations 403 forbidden to a recruiter key; the
    open ones answer without a key."""
    # Many wrong keys come from this one address: the slowdown is lifted for this test.
    hs = launcher.start(
        edit=lambda cfg: cfg.setdefault("auth", {}).update(failuresPerMinute=1000))
    created = hs.post("/keys", {"role": "recruiter", "name": "ci"})
    assert created.status == 201, created
    recruiter = created.json["key"]
    assert recruiter.startswith("hs_") and created.json["role"] == "recruiter"
    ops = operations(hs)
    assert {(m, p) for m, p, _ in ops if o_security_open(_)} == OPEN
    for method, path, op in ops:
        if (method, path) in OPEN:
            continue
        url = concrete(path)
        r = hs.request(method.upper(), url, api_key=None)
        harness.assert_error(r, 401, "unauthenticated", "x-api-key")
        r = hs.request(method.upper(), url, api_key="hs_wrong" + method)
        harness.assert_error(r, 401, "unauthenticated", "x-api-key")
        if not path.startswith("/candidates"):
            r = hs.request(method.upper(), url, api_key=recruiter)
            harness.assert_error(r, 403, "forbidden", "x-api-key")
    assert hs.get("/healthz", api_key=None).status == 200
    assert hs.get("/metrics", api_key=None).status == 200
    harness.assert_error(hs.get("/d/not.a.valid.link", api_key=None), 403, "forbidden")
    # The key itself never reaches the log.
    assert recruiter not in hs.stderr_tail(100000)
    assert "reason=forbidden" in hs.stderr_tail(100000)


def o_security_open(op):
    return op.get("security") == []


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


def test_metrics_can_require_a_key(launcher):
    """auth.metricsRequireKey: true puts /metrics behind an admin key."""
    hs = launcher.start(edit=lambda cfg: cfg.setdefault("auth", {}).update(metricsRequireKey=True))
    harness.assert_error(hs.get("/metrics", api_key=None), 401, "unauthenticated")
    assert hs.get("/metrics").status == 200


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


def test_bad_keys_are_slowed_down(launcher):
    """After 5 bad keys in a minute, the address gets 429 with Retry-After, valid key or not."""
    hs = launcher.start()
    for i in range(5):
        harness.assert_error(hs.get("/candidates", api_key=f"hs_guess{i}"), 401, "unauthenticated")
    r = hs.get("/candidates", api_key="hs_guess5")
    harness.assert_error(r, 429, "rate_limited")
    assert 1 <= int(r.headers["retry-after"]) <= 60, r.headers
    assert hs.get("/candidates").status == 429
    assert hs.get("/healthz", api_key=None).status == 200


def test_cors_preflight_for_allowed_origins(launcher):
    """server.corsOrigins: an allowed origin's preflight gets the methods and headers; its
    requests get Access-Control-Allow-Origin; another origin gets no CORS headers."""
    origin = "https://app.example.com"
    hs = launcher.start(edit=lambda cfg: cfg["server"].update(corsOrigins=[origin]))
    pre = hs.request("OPTIONS", "/candidates", api_key=None,
                     headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                              "Access-Control-Request-Headers": "x-api-key, content-type"})
    assert pre.status == 204, pre
    assert pre.headers["access-control-allow-origin"] == origin
    assert set(pre.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST"}
    assert "x-api-key" in pre.headers["access-control-allow-headers"]
    r = hs.get("/candidates", headers={"Origin": origin})
    assert r.status == 200 and r.headers["access-control-allow-origin"] == origin, r.headers
    other = hs.get("/candidates", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in other.headers


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
