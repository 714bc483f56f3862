"""The API contract, read from the OpenAPI document the running binary serves: every auth rule on
every operation, and every (operation, status) the document lists produced by a real request.

Routes added later are covered without touching this file for what can be derived from the
document (401, 403, 429 and CORS for every operation, 413 for every operation with a request
body). Every other status a route documents needs an entry in EXAMPLES below: the coverage test
fails naming the (method, path, status) that has none, and an example whose status the document
does not list fails too.
"""

import base64
import collections
import functools
import hashlib
import hmac
import http.client
import os
import re
import time
import urllib.parse
import uuid

import pytest

import conftest
import harness
from harness import ADMIN_KEY, assert_error
from harness import candidate_body as candidate

ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://elsewhere.example.com"
LINK_SECRET = "contract-test-link-secret-0123456789"
HANDLER = "exec:/usr/bin/python3 " + os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "fixtures", "record_handler.py")
# Answering without a key is a decision: a route joins this set on purpose.
OPEN_OPERATIONS = {("get", "/healthz"), ("get", "/d/{token}"), ("get", "/openapi.json"),
                   ("get", "/metrics")}
MALFORMED_KEYS = ["not-a-key", "hs_"]
UNKNOWN_KEY = "hs_" + "A" * 43
ERROR_CODES = {400: "invalid_argument", 401: "unauthenticated", 403: "forbidden",
               404: "not_found", 409: "conflict", 413: "too_large", 415: "invalid_argument", 429: "rate_limited",
               500: "internal", 503: "unavailable", 504: "deadline"}


def tampered(link):
    return link[:-1] + ("B" if link.endswith("A") else "A")


def operations(doc):
    return [(method, path, op) for path, item in doc["paths"].items()
            for method, op in item.items() if method != "parameters"]


def is_open(op):
    return op.get("security") == []


def concrete(path):
    """A documented path with its {params} filled in with values that name nothing."""
    return re.sub(r"\{[^}]+\}", lambda m: "1" if m.group(0) == "{id}" else "x", path)


# --------------------------------------------------------------------------- the running service

def _failing_function(cfg, name, allow_file):
    """functions.<name>: the fixture handler, failing for emails that start with poison-<name>
    (until `allow_file` exists), seeing only those records; a failed batch is dead-lettered at
    once."""
    cfg["functions"][name] = {
        "handler": HANDLER, "timeout": 10, "memorySize": 128,
        "environment": {"POISON_PREFIX": f"poison-{name}", "ALLOW_FILE": str(allow_file)},
        "events": [{"stream": {
            "batchSize": 10, "batchWindow": 0, "startingPosition": "TRIM_HORIZON",
            "maximumRetryAttempts": 0, "bisectBatchOnFunctionError": False,
            "filterPatterns": [{"eventName": ["INSERT"], "dynamodb": {"NewImage": {
                "email": {"S": [{"prefix": f"poison-{name}"}]}}}}],
            "destinations": {"onFailure": "deadletters"}, "enabled": True}}]}


class World:
    """The module's hirestream and what the examples need from it, each made on first use."""

    def __init__(self, launcher, root):
        self.launcher = launcher
        self.root = root
        self.allow_file = os.path.join(root, "allow-screen")

        def edit(cfg):
            cfg["server"]["corsOrigins"] = [ORIGIN]
            _failing_function(cfg, "screen", self.allow_file)  # redrive succeeds once allowed
            _failing_function(cfg, "rejects", os.path.join(root, "never"))  # redrive fails

        self.hs = launcher.start(edit=edit, env={"HIRESTREAM_LINK_SECRET": LINK_SECRET})
        doc = self.hs.get("/openapi.json", api_key=None)
        assert doc.status == 200, doc
        self.doc = doc.json

    # keys
    @functools.cached_property
    def recruiter_key(self):
        r = self.hs.post("/keys", {"role": "recruiter", "name": "contract"})
        assert r.status == 201, r
        return r.json["key"]

    @functools.cached_property
    def revoked_key(self):
        r = self.hs.post("/keys", {"role": "admin", "name": "revoked"})
        assert r.status == 201, r
        assert self.hs.delete(f"/keys/{r.json['id']}").status == 204
        return r.json["key"]

    def new_key_id(self):
        r = self.hs.post("/keys", {"role": "recruiter", "name": "to revoke"})
        assert r.status == 201, r
        return r.json["id"]

    # candidates
    def new_candidate(self, **kw):
        r = self.hs.post("/candidates", candidate(**kw))
        assert r.status == 201, r
        return r.json["candidateId"]

    @functools.cached_property
    def candidate_id(self):
        return self.new_candidate()

    def email_of(self, cid):
        return self.hs.candidate(cid)["email"]

    # the outbox folder: a candidate's email, and a file past what GET /outbox/{name} serves
    @functools.cached_property
    def outbox_message(self):
        cid = self.candidate_id
        hit = harness.wait_until(
            lambda: [m for m in self.hs.get("/outbox").json["messages"]
                     if self.email_of(cid) in m["to"]],
            message="the candidate's email in the outbox")
        return hit[0]["name"]

    @functools.cached_property
    def oversized_outbox_message(self):
        name = "20000101T000000.000Z-oversized@hirestream.eml"
        with open(os.path.join(self.launcher.outbox_dir, name), "wb") as f:
            f.truncate(32 * 1024 * 1024 + 1)  # sparse: nothing is written
        return name

    # download links, signed as the service signs them (mail.links.secret is known here)
    def link(self, assignment, candidate_id=None, expires_s=None):
        cid = candidate_id or self.candidate_id
        expires = expires_s or int(time.time()) + 3600
        text = f"hirestream-download-v1\n{cid}\n{assignment}\n{expires}".encode()
        mac = hmac.new(LINK_SECRET.encode(), text, hashlib.sha256).digest()
        sig = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
        return f"/d/{cid}.{assignment}.{expires}.{sig}"

    @functools.cached_property
    def link_to_deleted_assignment(self):
        name = self.uploaded("gone")
        path = self.link(name)
        assert self.hs.delete(f"/assignments/{name}").status == 204
        return path

    # assignments
    def put_zip(self, name, body=None):
        return self.hs.request("PUT", f"/assignments/{name}?title=Contract&delivery=link",
                               raw=harness.assignment_bytes("assignment1") if body is None
                               else body, headers={"Content-Type": "application/zip"})

    def uploaded(self, prefix):
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        r = self.put_zip(name)
        assert r.status == 201, r
        return name

    # dead letters
    def dead_letter(self, function):
        """The id of a fresh dead letter of `function` (a poison record it failed on)."""
        self.new_candidate(email=f"poison-{function}-{uuid.uuid4().hex[:8]}@example.com")

        def pending():
            r = self.hs.get(f"/functions/{function}/dead-letters")
            assert r.status == 200, r
            return [d["id"] for d in r.json["deadLetters"] if d["redrivenAt"] is None]

        return harness.wait_until(pending, timeout=10, message=f"a dead letter of {function}")[0]

    @functools.cached_property
    def screen_letter(self):
        return self.dead_letter("screen")

    def redrivable_letter(self):
        letter = self.dead_letter("screen")
        with open(self.allow_file, "w", encoding="utf-8") as f:
            f.write("fixed\n")
        return letter

    # candidates: the change stream and CSV import
    def stream_head(self, path, source="127.0.0.1"):
        """A streaming answer's status and headers; its body is left unread (it never ends)."""
        parts = urllib.parse.urlsplit(self.hs.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10,
                                          source_address=(source, 0))
        try:
            conn.request("GET", path, headers={"x-api-key": ADMIN_KEY})
            resp = conn.getresponse()
            r = harness.Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, b"")
            resp.close()
            return r
        finally:
            conn.close()

    def streams_exhausted(self):
        """A third live stream on a service that allows two (server.maxEventStreams: 2)."""
        hs = self.launcher.start(
            data_dir=os.path.join(self.root, f"streams-{uuid.uuid4().hex[:6]}"),
            function_enabled=False,
            edit=lambda cfg: cfg["server"].update({"maxEventStreams": 2}))
        parts = urllib.parse.urlsplit(hs.url)
        held = []
        try:
            for _ in range(2):
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                conn.request("GET", "/candidates/changes", headers={"x-api-key": ADMIN_KEY})
                resp = conn.getresponse()
                assert resp.status == 200
                held.append((conn, resp))
            return hs.get("/candidates/changes")
        finally:
            for conn, resp in held:
                resp.close()
                conn.close()

    def import_csv(self, text, content_type="text/csv"):
        return self.hs.post("/candidates:import", raw=text.encode(),
                            headers={"Content-Type": content_type})

    # emails
    def email_in(self, cid, state):
        return self.hs.wait_delivery(cid, state)["delivery"]["id"]

    @functools.cached_property
    def sent_email_id(self):
        return self.email_in(self.candidate_id, "SENT")

    def retryable_email_id(self):
        """A SUPPRESSED email whose address was taken off the list since."""
        address = f"bounced-{uuid.uuid4().hex[:8]}@example.com"
        assert self.hs.request("PUT", f"/suppressions/{address}", {"reason": "test"}).status == 200
        email_id = self.email_in(self.new_candidate(email=address), "SUPPRESSED")
        assert self.hs.delete(f"/suppressions/{address}").status == 204
        return email_id

    def suppressed_address(self):
        address = f"listed-{uuid.uuid4().hex[:8]}@example.com"
        assert self.hs.request("PUT", f"/suppressions/{address}", {}).status == 200
        return address

    # a second service with auth.metricsRequireKey: true
    @functools.cached_property
    def locked(self):
        return self.launcher.start(
            data_dir=os.path.join(self.root, "locked-data"),
            edit=lambda cfg: cfg.setdefault("auth", {}).update(metricsRequireKey=True))

    @functools.cached_property
    def locked_recruiter_key(self):
        r = self.locked.post("/keys", {"role": "recruiter"})
        assert r.status == 201, r
        return r.json["key"]

    def slowed_down(self, hs, path, source):
        """Five bad keys from `source`, then the admin key from there: the 429."""
        for i in range(5):
            assert_error(hs.get(path, api_key=f"hs_guess{i}", source=source), 401,
                         "unauthenticated")
        return hs.get(path, source=source)


@pytest.fixture(scope="module")
def world_module(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("contract"))
    launcher = conftest.Launcher(root)
    try:
        yield World(launcher, root), launcher
    finally:
        launcher.close()


@pytest.fixture
def world(request, world_module):
    w, launcher = world_module
    conftest._register(request, launcher.runs)
    if not w.hs.alive():
        pytest.fail(f"hirestream died:\n{w.hs.stderr_tail()}")
    return w


# --------------------------------------------------------------------------- the examples table

# Example(send, field): `send(world)` makes the request and returns the harness.Response; for an
# error, `field` is the error's `field` (None: not checked). The status is checked against the
# key, an error body's shape and code against the status, and the body against the documented
# schema of that status.
Example = collections.namedtuple("Example", "send field", defaults=(None,))

# (method, path pattern as documented, status) -> Example. Add a row for every status a new
# route documents, except those the auth and body sweeps below derive from the document: 401 and
# 429 on protected operations, 403 on protected operations that list it (admin only), 413 on
# operations with a requestBody.
EXAMPLES = {
    # candidates
    ("post", "/candidates", 201): Example(lambda w: w.hs.post("/candidates", candidate())),
    ("post", "/candidates", 400): Example(
        lambda w: w.hs.post("/candidates", candidate(experience=81)), "experience"),
    ("post", "/candidates", 409): Example(
        lambda w: w.hs.post("/candidates", candidate(email=w.email_of(w.candidate_id))), "email"),
    ("get", "/candidates", 200): Example(lambda w: w.hs.get("/candidates?limit=2")),
    ("get", "/candidates", 400): Example(lambda w: w.hs.get("/candidates?limit=0"), "limit"),
    ("get", "/candidates/changes", 200): Example(lambda w: w.stream_head("/candidates/changes")),
    ("get", "/candidates/changes", 400): Example(
        lambda w: w.hs.get("/candidates/changes", headers={"Last-Event-ID": "x"}), "Last-Event-ID"),
    ("get", "/candidates/changes", 503): Example(lambda w: w.streams_exhausted()),
    ("post", "/candidates:import", 200): Example(lambda w: w.import_csv(
        f"fullname,email,experience\nAda,{uuid.uuid4().hex[:8]}@example.com,3\nBad,bad,3\n")),
    ("post", "/candidates:import", 400): Example(
        lambda w: w.import_csv("fullname,email\nAda,a@example.com\n"), "experience"),
    ("post", "/candidates:import", 415): Example(
        lambda w: w.import_csv("fullname,email,experience\n", "text/plain"), "Content-Type"),
    ("get", "/candidates/{id}", 200): Example(
        lambda w: w.hs.get(f"/candidates/{w.candidate_id}", api_key=w.recruiter_key)),
    ("get", "/candidates/{id}", 404): Example(
        lambda w: w.hs.get(f"/candidates/{uuid.uuid4()}"), "id"),
    ("patch", "/candidates/{id}", 200): Example(
        lambda w: w.hs.patch(f"/candidates/{w.candidate_id}", {"skills": "cobol, fortran"})),
    ("patch", "/candidates/{id}", 400): Example(
        lambda w: w.hs.patch(f"/candidates/{w.candidate_id}", {"experience": -1}), "experience"),
    ("patch", "/candidates/{id}", 404): Example(
        lambda w: w.hs.patch(f"/candidates/{uuid.uuid4()}", {"skills": "go"}), "id"),
    ("patch", "/candidates/{id}", 409): Example(
        lambda w: w.hs.patch(f"/candidates/{w.new_candidate()}",
                             {"email": w.email_of(w.candidate_id)}), "email"),
    ("delete", "/candidates/{id}", 204): Example(
        lambda w: w.hs.delete(f"/candidates/{w.new_candidate()}")),
    ("delete", "/candidates/{id}", 404): Example(
        lambda w: w.hs.delete(f"/candidates/{uuid.uuid4()}"), "id"),
    # the change stream
    ("get", "/streams/{table}/records", 200): Example(
        lambda w: w.hs.get(f"/streams/{harness.TABLE}/records?limit=5")),
    ("get", "/streams/{table}/records", 400): Example(
        lambda w: w.hs.get(f"/streams/{harness.TABLE}/records?after=abc"), "after"),
    ("get", "/streams/{table}/records", 404): Example(
        lambda w: w.hs.get("/streams/no-such-table/records"), "table"),
    # signed download links: no key
    ("get", "/d/{token}", 200): Example(lambda w: w.hs.get(w.link("assignment1"), api_key=None)),
    ("get", "/d/{token}", 403): Example(
        lambda w: w.hs.get(tampered(w.link("assignment1")), api_key=None)),
    ("get", "/d/{token}", 404): Example(
        lambda w: w.hs.get(w.link_to_deleted_assignment, api_key=None)),
    # assignments
    ("get", "/assignments", 200): Example(lambda w: w.hs.get("/assignments")),
    ("get", "/assignments/{name}", 200): Example(lambda w: w.hs.get("/assignments/assignment2")),
    ("get", "/assignments/{name}", 404): Example(lambda w: w.hs.get("/assignments/nope"), "name"),
    ("put", "/assignments/{name}", 201): Example(lambda w: w.put_zip(f"new-{uuid.uuid4().hex[:8]}")),
    ("put", "/assignments/{name}", 200): Example(lambda w: w.put_zip(w.uploaded("replaced"))),
    ("put", "/assignments/{name}", 400): Example(
        lambda w: w.put_zip("broken", body=b"not a zip"), "body"),
    ("put", "/assignments/{name}", 409): Example(
        lambda w: w.put_zip("assignment1"), "assignments.assignment1"),
    ("delete", "/assignments/{name}", 204): Example(
        lambda w: w.hs.delete(f"/assignments/{w.uploaded('deleted')}")),
    ("delete", "/assignments/{name}", 404): Example(
        lambda w: w.hs.delete("/assignments/nope"), "name"),
    ("delete", "/assignments/{name}", 409): Example(
        lambda w: w.hs.delete("/assignments/assignment3"), "assignments.assignment3"),
    # functions and dead letters
    ("get", "/functions", 200): Example(lambda w: w.hs.get("/functions")),
    ("get", "/functions/{name}", 200): Example(lambda w: w.hs.get("/functions/sendAssignment")),
    ("get", "/functions/{name}", 404): Example(lambda w: w.hs.get("/functions/nope"), "name"),
    ("patch", "/functions/{name}", 200): Example(
        lambda w: w.hs.patch("/functions/sendAssignment", {"enabled": True})),
    ("patch", "/functions/{name}", 400): Example(
        lambda w: w.hs.patch("/functions/sendAssignment", {"enabled": "yes"}), "enabled"),
    ("patch", "/functions/{name}", 404): Example(
        lambda w: w.hs.patch("/functions/nope", {"enabled": True}), "name"),
    ("get", "/functions/{name}/dead-letters", 200): Example(
        lambda w: (w.screen_letter, w.hs.get("/functions/screen/dead-letters?limit=5"))[1]),
    ("get", "/functions/{name}/dead-letters", 400): Example(
        lambda w: w.hs.get("/functions/screen/dead-letters?before=-3"), "before"),
    ("get", "/functions/{name}/dead-letters", 404): Example(
        lambda w: w.hs.get("/functions/nope/dead-letters"), "name"),
    ("get", "/functions/{name}/dead-letters/{id}", 200): Example(
        lambda w: w.hs.get(f"/functions/screen/dead-letters/{w.screen_letter}")),
    ("get", "/functions/{name}/dead-letters/{id}", 404): Example(
        lambda w: w.hs.get(f"/functions/sendAssignment/dead-letters/{w.screen_letter}"), "id"),
    ("post", "/functions/{name}/dead-letters/{id}/redrive", 200): Example(
        lambda w: w.hs.post(f"/functions/screen/dead-letters/{w.redrivable_letter()}/redrive")),
    ("post", "/functions/{name}/dead-letters/{id}/redrive", 404): Example(
        lambda w: w.hs.post("/functions/screen/dead-letters/999999/redrive"), "id"),
    # the function fails again: the letter stays pending
    ("post", "/functions/{name}/dead-letters/{id}/redrive", 503): Example(
        lambda w: w.hs.post(f"/functions/rejects/dead-letters/{w.dead_letter('rejects')}/redrive")),
    # emails and suppressions
    ("get", "/emails", 200): Example(lambda w: (w.sent_email_id, w.hs.get("/emails"))[1]),
    ("get", "/emails", 400): Example(lambda w: w.hs.get("/emails?state=LOST"), "state"),
    ("get", "/emails/{id}", 200): Example(lambda w: w.hs.get(f"/emails/{w.sent_email_id}")),
    ("get", "/emails/{id}", 404): Example(lambda w: w.hs.get("/emails/999999"), "id"),
    ("post", "/emails/{id}/retry", 202): Example(
        lambda w: w.hs.post(f"/emails/{w.retryable_email_id()}/retry")),
    ("post", "/emails/{id}/retry", 404): Example(lambda w: w.hs.post("/emails/999999/retry"), "id"),
    ("post", "/emails/{id}/retry", 409): Example(
        lambda w: w.hs.post(f"/emails/{w.sent_email_id}/retry"), "state"),
    ("get", "/suppressions", 200): Example(
        lambda w: (w.suppressed_address(), w.hs.get("/suppressions?limit=5"))[1]),
    ("get", "/suppressions", 400): Example(lambda w: w.hs.get("/suppressions?limit=0"), "limit"),
    ("put", "/suppressions/{address}", 200): Example(
        lambda w: w.hs.request("PUT", "/suppressions/held@example.com", {"reason": "asked"})),
    ("put", "/suppressions/{address}", 400): Example(
        lambda w: w.hs.request("PUT", "/suppressions/not-an-address", {}), "address"),
    ("delete", "/suppressions/{address}", 204): Example(
        lambda w: w.hs.delete(f"/suppressions/{w.suppressed_address()}")),
    ("delete", "/suppressions/{address}", 400): Example(
        lambda w: w.hs.delete("/suppressions/not-an-address"), "address"),
    ("delete", "/suppressions/{address}", 404): Example(
        lambda w: w.hs.delete("/suppressions/never-listed@example.com"), "address"),
    # the web app's routes: rules, a function's log tail, the outbox folder
    ("get", "/rules", 200): Example(lambda w: w.hs.get("/rules")),
    ("post", "/rules/evaluate", 200): Example(
        lambda w: w.hs.post("/rules/evaluate", {"experience": 6, "skills": "go"})),
    ("post", "/rules/evaluate", 400): Example(
        lambda w: w.hs.post("/rules/evaluate", {"experience": -1}), "experience"),
    ("get", "/functions/{name}/logs", 200): Example(
        lambda w: w.hs.get("/functions/sendAssignment/logs?limit=5")),
    ("get", "/functions/{name}/logs", 400): Example(
        lambda w: w.hs.get("/functions/sendAssignment/logs?cursor=nope"), "cursor"),
    ("get", "/functions/{name}/logs", 404): Example(
        lambda w: w.hs.get("/functions/nope/logs"), "name"),
    ("get", "/outbox", 200): Example(lambda w: (w.outbox_message, w.hs.get("/outbox"))[1]),
    ("get", "/outbox", 400): Example(lambda w: w.hs.get("/outbox?limit=0"), "limit"),
    ("get", "/outbox/{name}", 200): Example(lambda w: w.hs.get(f"/outbox/{w.outbox_message}")),
    ("get", "/outbox/{name}", 404): Example(
        lambda w: w.hs.get("/outbox/20000101T000000.000Z-missing.eml"), "name"),
    ("get", "/outbox/{name}", 413): Example(
        lambda w: w.hs.get(f"/outbox/{w.oversized_outbox_message}"), "name"),
    # keys
    ("get", "/keys", 200): Example(lambda w: (w.recruiter_key, w.hs.get("/keys"))[1]),
    ("post", "/keys", 201): Example(lambda w: w.hs.post("/keys", {"role": "admin", "name": "ops"})),
    ("post", "/keys", 400): Example(lambda w: w.hs.post("/keys", {"role": "owner"}), "role"),
    ("delete", "/keys/{id}", 204): Example(lambda w: w.hs.delete(f"/keys/{w.new_key_id()}")),
    ("delete", "/keys/{id}", 404): Example(lambda w: w.hs.delete("/keys/key_nope"), "id"),
    # open routes
    ("get", "/healthz", 200): Example(lambda w: w.hs.get("/healthz", api_key=None)),
    ("get", "/openapi.json", 200): Example(lambda w: w.hs.get("/openapi.json", api_key=None)),
    ("get", "/metrics", 200): Example(lambda w: w.hs.get("/metrics", api_key=None)),
    # /metrics with auth.metricsRequireKey: true
    ("get", "/metrics", 401): Example(lambda w: w.locked.get("/metrics", api_key=None), "x-api-key"),
    ("get", "/metrics", 403): Example(
        lambda w: w.locked.get("/metrics", api_key=w.locked_recruiter_key), "x-api-key"),
    ("get", "/metrics", 429): Example(
        lambda w: w.slowed_down(w.locked, "/metrics", "127.0.1.1"), "x-api-key"),
}

# Statuses no request can produce on purpose, with the reason. Any operation's 500 and 503 may
# stay without an example; everything else listed needs one.
NOT_PRODUCIBLE = {
    "500": "an internal error is a bug: no request is meant to produce one",
    "503": "the database cannot take the request: a full disk or a broken database file "
           "(test_disk_trouble.py drives the write path into it as root)",
}
NOT_PRODUCIBLE_ON = {
    ("get", "/healthz", "503"): "the stream retention loop failing on the database",
}


def derived(op, status):
    """Statuses the sweeps below produce for every operation that documents them."""
    protected = not is_open(op)
    return (protected and status in ("401", "403", "429")) or \
        (status == "413" and "requestBody" in op)


# --------------------------------------------------------------------------- response checks

TYPES = {"object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
         "string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
         "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
         "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)}


def check_schema(doc, schema, value, where="body"):
    """The OpenAPI 3.0 subset the document uses: $ref, allOf, nullable, type, enum, required,
    properties, additionalProperties, items."""
    if "$ref" in schema:
        target = doc
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return check_schema(doc, target, value, where)
    if value is None:
        assert schema.get("nullable") or None in schema.get("enum", []), \
            f"{where}: null, but the document does not say nullable: {schema}"
        return
    for sub in schema.get("allOf", []):
        check_schema(doc, sub, value, where)
    kind = schema.get("type")
    if kind:
        assert TYPES[kind](value), f"{where}: {value!r} is not of type {kind}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} is not one of {schema['enum']}"
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            assert name in value, f"{where}: required property {name!r} missing: {value!r}"
        for name, sub in props.items():
            if name in value:
                check_schema(doc, sub, value[name], f"{where}.{name}")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for name, item in value.items():
                if name not in props:
                    check_schema(doc, extra, item, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            check_schema(doc, schema["items"], item, f"{where}[{i}]")


def check_documented(doc, method, path, status, resp, field=None):
    """`resp` is the documented answer `status` of the operation: error body, content type,
    schema, headers."""
    label = f"{method.upper()} {path} {status}"
    op = doc["paths"].get(path, {}).get(method)
    assert op is not None, f"{label}: the document has no such operation"
    spec = op["responses"].get(str(status))
    assert spec is not None, f"{label}: the document does not list this status; add it to " \
        f"src/http/openapi.json or fix the code (got {resp!r})"
    assert resp.status == status, f"{label}: got {resp!r}"
    if status >= 400:
        assert_error(resp, status, ERROR_CODES[status], field)
    content = spec.get("content")
    if not content:
        assert resp.body == b"", f"{label}: documented without a body, got {resp!r}"
    else:
        ctype = resp.headers.get("content-type", "").split(";")[0].strip()
        assert ctype in content, f"{label}: content type {ctype!r}, documented {list(content)}"
        schema = content[ctype].get("schema")
        if ctype == "application/json" and schema:
            check_schema(doc, schema, resp.json, f"{label} body")
    for name in spec.get("headers", {}):
        assert name.lower() in resp.headers, f"{label}: documented header {name} missing"


def status_of(hs, method, url, key, source):
    """The status of a request, without reading its body: a route that streams (server-sent
    events) answers headers first and then keeps the connection open."""
    parts = urllib.parse.urlsplit(hs.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10,
                                      source_address=(source, 0))
    try:
        conn.request(method.upper(), url, headers={"x-api-key": key})
        return conn.getresponse().status
    finally:
        conn.close()


# --------------------------------------------------------------------------- the tests

@pytest.mark.parametrize("key", list(EXAMPLES), ids=lambda k: f"{k[0].upper()} {k[1]} {k[2]}")
def test_documented_status(world, key):
    """Each example produces its documented status with the documented body."""
    method, path, status = key
    example = EXAMPLES[key]
    check_documented(world.doc, method, path, status, example.send(world), example.field)


def test_every_documented_status_has_an_example(world):
    """Coverage: every (operation, status) the served document lists is produced by an example
    or a sweep, or is named above as not producible, with its reason."""
    missing = []
    for method, path, op in operations(world.doc):
        for status in op["responses"]:
            if (method, path, int(status)) in EXAMPLES or derived(op, status):
                continue
            if status in NOT_PRODUCIBLE or (method, path, status) in NOT_PRODUCIBLE_ON:
                continue
            missing.append(f"({method!r}, {path!r}, {status})")
    assert not missing, ("documented statuses without an example; add them to EXAMPLES in "
                         "tests/e2e/test_api_contract.py:\n  " + "\n  ".join(missing))
    for method, path, status in NOT_PRODUCIBLE_ON:
        assert status in world.doc["paths"][path][method]["responses"], (method, path, status)


def test_auth_rules_on_every_documented_operation(world):
    """Open operations answer without a key; protected ones refuse no key, malformed, unknown
    and revoked keys with 401, a recruiter key with 403 exactly where the document lists 403
    (admin routes), let the right role through, and slow an address down after five bad keys
    with 429 and Retry-After while open routes still answer it."""
    doc = world.doc
    assert {(m, p) for m, p, op in operations(doc) if is_open(op)} == OPEN_OPERATIONS
    recruiter, revoked = world.recruiter_key, world.revoked_key
    for n, (method, path, op) in enumerate(operations(doc)):
        label = f"{method.upper()} {path}"
        source = f"127.0.0.{n + 2}"  # the slowdown counts per address: one each

        def send(key, method=method, url=concrete(path), source=source):
            return world.hs.request(method.upper(), url, api_key=key, source=source)

        if is_open(op):
            for key in (None, UNKNOWN_KEY):
                r = send(key)
                assert r.status not in (401, 429), f"{label} is open, yet: {r!r}"
            continue
        for status in ("401", "429"):
            assert status in op["responses"], f"{label} needs a key: document {status}"
        for key in [None, ""] + MALFORMED_KEYS + [UNKNOWN_KEY, revoked]:
            r = send(key)
            assert_error(r, 401, "unauthenticated", "x-api-key")
            check_documented(doc, method, path, 401, r, "x-api-key")
        if "403" in op["responses"]:
            check_documented(doc, method, path, 403, send(recruiter), "x-api-key")
        else:
            status = status_of(world.hs, method, concrete(path), recruiter, source)
            assert status not in (401, 403, 429), f"{label}: a recruiter key is refused: {status}"
        status = status_of(world.hs, method, concrete(path), ADMIN_KEY, source)
        assert status not in (401, 403, 429), f"{label}: the admin key is refused: {status}"
        # Four bad keys so far (two malformed, one unknown, one revoked): the fifth slows down.
        assert_error(send("hs_guess"), 401, "unauthenticated")
        r = send(ADMIN_KEY)
        check_documented(doc, method, path, 429, r, "x-api-key")
        assert 1 <= int(r.headers["retry-after"]) <= 60, (label, r.headers)
        assert world.hs.get("/healthz", api_key=None, source=source).status == 200
    log = world.hs.stderr_tail(100000)
    assert recruiter not in log and revoked not in log, "a key reached the log"
    assert "reason=forbidden" in log and "reason=revoked_key" in log


def test_body_over_the_bound_is_413_on_every_operation_with_a_body(world):
    """A declared body over the route's bound is refused with 413 before it is read."""
    parts = urllib.parse.urlsplit(world.hs.url)
    for method, path, op in operations(world.doc):
        if "requestBody" not in op:
            continue
        assert "413" in op["responses"], f"{method.upper()} {path} takes a body: document 413"
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            conn.putrequest(method.upper(), concrete(path))
            conn.putheader("x-api-key", ADMIN_KEY)
            conn.putheader("Content-Type", next(iter(op["requestBody"]["content"])))
            conn.putheader("Content-Length", str(1 << 30))
            conn.endheaders()
            resp = conn.getresponse()
            r = harness.Response(resp.status, {k.lower(): v for k, v in resp.getheaders()},
                                 resp.read())
        finally:
            conn.close()
        check_documented(world.doc, method, path, 413, r)


def test_cors_for_the_configured_origin_only(world):
    """server.corsOrigins: every documented path answers the origin's preflight with exactly
    its documented methods, and its requests (refusals included) with
    Access-Control-Allow-Origin; another origin gets no CORS headers at all."""
    for path, item in world.doc["paths"].items():
        methods = {m.upper() for m in item if m != "parameters"}
        url = concrete(path)
        method = "GET" if "GET" in methods else sorted(methods)[0]
        pre = world.hs.request("OPTIONS", url, api_key=None, headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "x-api-key, content-type"})
        assert pre.status == 204, (path, pre)
        assert pre.headers["access-control-allow-origin"] == ORIGIN, (path, pre.headers)
        assert set(pre.headers["access-control-allow-methods"].split(", ")) == methods, \
            (path, pre.headers)
        allowed = {h.strip() for h in pre.headers["access-control-allow-headers"].split(",")}
        assert {"x-api-key", "content-type", "idempotency-key"} <= allowed, (path, pre.headers)
        # No key: the refusal (or the open answer) is readable by the page too.
        r = world.hs.request(method, url, api_key=None, headers={"Origin": ORIGIN})
        assert r.headers.get("access-control-allow-origin") == ORIGIN, (path, r)
        assert "Retry-After" in r.headers.get("access-control-expose-headers", ""), (path, r)
        for other in (
                world.hs.request("OPTIONS", url, api_key=None, headers={
                    "Origin": OTHER_ORIGIN, "Access-Control-Request-Method": method}),
                world.hs.request(method, url, api_key=None, headers={"Origin": OTHER_ORIGIN})):
            assert not [h for h in other.headers if h.startswith("access-control-")], \
                (path, other.headers)
