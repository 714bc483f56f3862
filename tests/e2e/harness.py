"""Helpers for hirestream's end-to-end tests: config files, the binary as a subprocess, a plain
HTTP client, an SMTP sink with fault switches, polling and mail parsing.

Standard library and aiosmtpd only (the suite runs under Debian's /usr/bin/python3).
"""

import copy
import email
import email.policy
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import http.client
import http.server
import urllib.parse
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG_TEMPLATE = os.path.join(REPO, "config", "hirestream.yaml")
ASSIGNMENTS_DIR = os.path.join(REPO, "assignments")
BINARY = os.environ.get("HIRESTREAM_BIN") or os.path.join(REPO, "build", "hirestream")
TABLE = "candidates-dev"
START_DEADLINE_S = 15.0
# Every test server is started with this admin key (HIRESTREAM_ADMIN_KEY) and request() sends it
# unless told otherwise.
ADMIN_KEY = "hs_test-admin-key-0123456789abcdef"
DEFAULT_KEY = object()  # request(): send ADMIN_KEY

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def candidate_body(**fields):
    """A valid POST /candidates body with a fresh email; `fields` override or add fields."""
    body = {"fullname": "Ada Lovelace", "email": f"ada-{uuid.uuid4().hex[:10]}@example.com",
            "skills": "c++", "experience": 3}
    body.update(fields)
    return body


def assignment_path(name):
    return os.path.join(ASSIGNMENTS_DIR, name + ".zip")


def assignment_bytes(name):
    with open(assignment_path(name), "rb") as f:
        return f.read()


# --------------------------------------------------------------------------- polling

def wait_until(predicate, timeout=10.0, interval=0.02, message="condition"):
    """Polls `predicate` until it returns a truthy value (returned) or the deadline passes."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}; last: {last!r}")
        time.sleep(interval)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- config

# Mirrors config/hirestream.yaml; used only when PyYAML is missing.
BUILTIN_DEFAULTS = {
    "service": "candidates",
    "provider": {"stage": "dev", "region": "us-east-1", "accountId": "000000000000"},
    "server": {"listen": "127.0.0.1:8080", "publicUrl": "", "maxBodyBytes": 65536,
               "threads": 16, "idleTimeoutSeconds": 60},
    "data": {"dir": "../data"},
    "log": {"level": "info", "format": "text"},
    "tables": {"candidates": {"name": "candidates-dev", "streamViewType": "NEW_AND_OLD_IMAGES",
                              "shards": 4, "streamRetentionHours": 24}},
    "functions": {"sendAssignment": {"handler": "builtin:assignment", "events": [
        {"stream": {"batchSize": 100, "startingPosition": "TRIM_HORIZON", "enabled": True}}]}},
    "mail": {"smtpUrl": "", "outboxDir": "../outbox",
             "from": "Hiring Team <hiring@example.com>", "replyTo": ["recruiting@example.com"],
             "subject": "Coding Round",
             "smtp": {"connectTimeoutMs": 10000, "responseTimeoutMs": 30000,
                      "totalTimeoutMs": 120000, "caFile": "", "verifyPeer": True, "poolSize": 2},
             "retry": {"initialBackoffMs": 1000, "maxBackoffMs": 300000, "maxAttempts": 12}},
    "assignments": {
        "assignment1": {"file": "../assignments/assignment1.zip",
                        "title": "Assignment 1: a command-line word counter"},
        "assignment2": {"file": "../assignments/assignment2.zip",
                        "title": "Assignment 2: a rate-limited HTTP client"},
        "assignment3": {"file": "../assignments/assignment3.zip",
                        "title": "Assignment 3: a replicated key-value store"}},
    "rules": [
        {"assignment": "assignment1", "when": {"experience": {"gte": 0, "lte": 5}}},
        {"assignment": "assignment2", "when": {"experience": {"gt": 5, "lte": 8}}},
        {"assignment": "assignment3", "when": {"experience": {"gt": 8}}},
    ],
    "defaultAssignment": "assignment3",
}


def load_template():
    try:
        import yaml  # noqa: PLC0415
    except ImportError:
        return copy.deepcopy(BUILTIN_DEFAULTS)
    with open(CONFIG_TEMPLATE, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _scalar(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return repr(value)
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(str(value))


def to_yaml(obj, indent=0):
    """Block-style YAML for dicts, lists and scalars (enough for hirestream's config)."""
    pad = "  " * indent
    lines = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(value, (dict, list)) and value:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(value, indent + 1))
            elif isinstance(value, dict):
                lines.append(f"{pad}{key}: {{}}")
            elif isinstance(value, list):
                lines.append(f"{pad}{key}: []")
            else:
                lines.append(f"{pad}{key}: {_scalar(value)}")
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, (dict, list)) and item:
                body = to_yaml(item, indent + 1)
                inner = "  " * (indent + 1)
                lines.append(pad + "- " + body[len(inner):])
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    else:
        lines.append(pad + _scalar(obj))
    return "\n".join(lines)


def serve_expecting_config_error(tmp_path, edit, **env):
    """Runs `hirestream serve` on the test config changed by `edit(cfg)`, expecting it to stop
    at start-up with exit status 2 before listening; returns its stderr."""
    cfg = make_config(data_dir=tmp_path / "data", outbox_dir=tmp_path / "outbox")
    edit(cfg)
    path = tmp_path / "hirestream.yaml"
    path.write_text(to_yaml(cfg) + "\n", encoding="utf-8")
    proc = subprocess.run([BINARY, "serve", "--config", str(path)], env=base_env(**env),
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=15)
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, (proc.returncode, stderr)
    assert b"api: " not in proc.stdout, proc.stdout
    return stderr


def make_config(*, data_dir, outbox_dir, function_enabled=True, smtp_url=""):
    """The template with test settings: absolute paths, fast retries, a free port."""
    cfg = load_template()
    cfg["server"]["listen"] = "127.0.0.1:0"
    cfg["data"]["dir"] = str(data_dir)
    cfg["mail"]["outboxDir"] = str(outbox_dir)
    cfg["mail"]["smtpUrl"] = smtp_url
    cfg["mail"]["retry"]["initialBackoffMs"] = 100
    cfg["mail"]["retry"]["maxBackoffMs"] = 500
    for name in ("assignment1", "assignment2", "assignment3"):
        cfg["assignments"][name]["file"] = assignment_path(name)
    cfg["functions"]["sendAssignment"]["events"][0]["stream"]["enabled"] = function_enabled
    return cfg




# --------------------------------------------------------------------------- HTTP

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-cased names
        self.body = body
        self._json = None

    @property
    def json(self):
        if self._json is None:
            try:
                self._json = json.loads(self.body.decode("utf-8"))
            except ValueError as e:
                raise AssertionError(f"response is not JSON ({e}): {self.body[:500]!r}") from e
        return self._json

    def __repr__(self):
        return f"<Response {self.status} {self.body[:300]!r}>"


def request(base_url, method, path, body=None, *, raw=None, headers=None, timeout=10.0,
            api_key=DEFAULT_KEY, source=None):
    """One HTTP request on a fresh connection; never raises on 4xx/5xx. Sends x-api-key:
    ADMIN_KEY by default, `api_key` instead, or none when api_key is None. `source` is the
    client's loopback address (e.g. "127.0.0.9"): the bad-key slowdown counts per address."""
    parts = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    hdrs = dict(headers or {})
    key = ADMIN_KEY if api_key is DEFAULT_KEY else api_key
    if key is not None and not any(k.lower() == "x-api-key" for k in hdrs):
        hdrs["x-api-key"] = key
    data = raw
    if body is not None:
        data = json.dumps(body).encode("utf-8")
    if data is not None:
        hdrs.setdefault("Content-Type", "application/json")
    try:
        try:
            conn.request(method, path, body=data, headers=hdrs)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (413) before reading the whole body
        if conn.sock is None:
            # http.client dropped the socket while sending (the server went away): say so as
            # the network error it is, not as getresponse()'s AttributeError.
            raise ConnectionResetError("the connection closed before the request was sent")
        resp = conn.getresponse()
        payload = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload)
    finally:
        conn.close()


def assert_error(resp, status, code, field=None):
    """An error answer: status, JSON content type, {"error": {code, message, field}}."""
    assert resp.status == status, f"expected {status} {code} field={field}, got {resp!r}"
    assert resp.headers.get("content-type", "").startswith("application/json"), resp.headers
    err = resp.json.get("error")
    assert isinstance(err, dict), resp.json
    assert err.get("code") == code, resp.json
    assert isinstance(err.get("message"), str) and err["message"], resp.json
    if field is not None:
        assert err.get("field") == field, resp.json


# --------------------------------------------------------------------------- the binary

class Hirestream:
    """One running `hirestream serve` process."""

    def __init__(self, name, workdir, env, config_path):
        self.name = name
        self.workdir = workdir
        self.config_path = config_path
        self.stderr_path = os.path.join(workdir, "stderr.log")
        self.stdout_lines = []
        self._lines_cv = threading.Condition()
        self._stderr_file = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--config", config_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr_file,
            env=env, cwd=workdir)
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        self.url = None

    def _read_stdout(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self._lines_cv:
                self.stdout_lines.append(line)
                self._lines_cv.notify_all()
        with self._lines_cv:
            self.stdout_lines.append(None)  # EOF marker
            self._lines_cv.notify_all()

    def wait_ready(self, timeout=START_DEADLINE_S):
        deadline = time.monotonic() + timeout
        with self._lines_cv:
            while True:
                for line in self.stdout_lines:
                    if line is not None and line.startswith("api: "):
                        self.url = line[len("api: "):].strip().rstrip("/")
                        return self
                if None in self.stdout_lines:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lines_cv.wait(left)
        code = self.proc.poll()
        raise AssertionError(
            f"hirestream did not print 'api: ' within {timeout}s (exit status {code}); "
            f"stdout: {self.stdout_lines!r}\nstderr:\n{self.stderr_tail()}")

    def line(self, prefix):
        with self._lines_cv:
            for line in self.stdout_lines:
                if line is not None and line.startswith(prefix):
                    return line
        return None

    def stderr_tail(self, max_lines=150):
        try:
            self._stderr_file.flush()
            with open(self.stderr_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError as e:
            return f"<cannot read {self.stderr_path}: {e}>"
        lines = text.splitlines()
        if len(lines) > max_lines:
            lines = [f"... ({len(lines) - max_lines} earlier lines in {self.stderr_path})"] + \
                lines[-max_lines:]
        return "\n".join(lines)

    # HTTP shortcuts
    def request(self, method, path, body=None, **kw):
        return request(self.url, method, path, body, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def candidate(self, cid):
        r = self.get(f"/candidates/{cid}")
        assert r.status == 200, r
        return r.json

    def wait_delivery(self, cid, states, timeout=10.0, interval=0.02):
        """Polls GET /candidates/{id} until delivery.state is one of `states`; returns it."""
        states = (states,) if isinstance(states, str) else tuple(states)

        def check():
            c = self.candidate(cid)
            d = c.get("delivery")
            return c if d and d.get("state") in states else None

        return wait_until(check, timeout=timeout, interval=interval,
                          message=f"delivery of {cid} in {states}")

    def stream_records(self, after="0", page=100):
        out = []
        while True:
            r = self.get(f"/streams/{TABLE}/records?after={after}&limit={page}")
            assert r.status == 200, r
            recs = r.json["Records"]
            out.extend(recs)
            if len(recs) < page:
                return out
            after = recs[-1]["dynamodb"]["SequenceNumber"]

    # lifecycle
    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        """SIGKILL, as a crash would."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self, timeout=10.0):
        """SIGTERM and wait for a graceful exit; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def close(self):
        try:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(timeout=10)
        finally:
            self._reader.join(timeout=5)
            if self.proc.stdout:
                self.proc.stdout.close()
            self._stderr_file.close()


def base_env(**overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIRESTREAM_")}
    env["HIRESTREAM_LISTEN"] = "127.0.0.1:0"
    env["HIRESTREAM_LOG_LEVEL"] = "debug"
    env["HIRESTREAM_ADMIN_KEY"] = ADMIN_KEY
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run_cli(*args, env=None, timeout=20.0):
    """Runs `hirestream <args>` to completion (stdin closed); returns the CompletedProcess with
    text stdout and stderr."""
    return subprocess.run([BINARY, *args], env=env if env is not None else base_env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


# --------------------------------------------------------------------------- webhook endpoint

class WebhookServer:
    """http.server on 127.0.0.1 (a free port, own thread) standing in for a webhook function.

    Records every POST as {"path", "headers" (lower-cased names), "raw", "body" (parsed JSON or
    None)} and answers with `respond(request) -> (status, headers dict, body bytes)`, by default
    200 with an empty JSON object.
    """

    def __init__(self, respond=None):
        self._lock = threading.Lock()
        self._requests = []
        self.respond = respond or (lambda req: (200, {}, b"{}"))
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    body = None
                req = {"path": self.path, "raw": raw, "body": body,
                       "headers": {k.lower(): v for k, v in self.headers.items()}}
                with outer._lock:
                    outer._requests.append(req)
                status, headers, payload = outer.respond(req)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def requests(self):
        with self._lock:
            return list(self._requests)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------- SMTP sink

class SmtpSink:
    """aiosmtpd on 127.0.0.1 that records accepted messages and can inject faults.

    fail_transient(addr, times, stage): reply 451 to RCPT (or DATA) for `addr` the first
    `times` attempts. fail_permanent(addr): reply 550 5.1.1 to RCPT for `addr`, always.
    """

    def __init__(self):
        from aiosmtpd.controller import Controller  # noqa: PLC0415
        self._lock = threading.Lock()
        self._messages = []       # dicts: mail_from, rcpt_tos, data, message
        self._rcpt_attempts = {}  # address -> number of RCPT commands seen
        self._data_attempts = {}  # address -> number of DATA commands seen
        self._transient = {}      # address -> [remaining, stage]
        self._permanent = set()
        self._nth_data = {}       # n (1-based count of DATA commands) -> reply
        self._data_count = 0
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        self.url = f"smtp://127.0.0.1:{self.port}"

    def stop(self):
        self.controller.stop()

    def restart(self, down_seconds=0.0):
        """Stops the server (connections drop), waits, and starts it again on the same port;
        the messages it accepted so far are kept."""
        from aiosmtpd.controller import Controller  # noqa: PLC0415
        self.controller.stop()
        time.sleep(down_seconds)
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    # fault switches
    def fail_transient(self, address, times, stage="RCPT"):
        with self._lock:
            self._transient[address.lower()] = [times, stage]

    def fail_permanent(self, address):
        with self._lock:
            self._permanent.add(address.lower())

    def heal(self, address):
        """Ends every fault switched on for `address`."""
        with self._lock:
            self._permanent.discard(address.lower())
            self._transient.pop(address.lower(), None)

    def fail_nth_data(self, n, reply="451 4.3.0 Temporary failure, try again later"):
        """Replies `reply` to the n-th DATA command this server sees (1-based), whoever it is
        for."""
        with self._lock:
            self._nth_data[n] = reply

    # aiosmtpd hooks (run on the controller's event loop thread)
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        addr = address.lower()
        with self._lock:
            self._rcpt_attempts[addr] = self._rcpt_attempts.get(addr, 0) + 1
            if addr in self._permanent:
                return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
            fault = self._transient.get(addr)
            if fault and fault[1] == "RCPT" and fault[0] > 0:
                fault[0] -= 1
                return "451 4.3.0 Temporary failure, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        rcpts = [a.lower() for a in envelope.rcpt_tos]
        with self._lock:
            self._data_count += 1
            if self._data_count in self._nth_data:
                return self._nth_data.pop(self._data_count)
            for addr in rcpts:
                self._data_attempts[addr] = self._data_attempts.get(addr, 0) + 1
            for addr in rcpts:
                fault = self._transient.get(addr)
                if fault and fault[1] == "DATA" and fault[0] > 0:
                    fault[0] -= 1
                    return "451 4.3.0 Temporary failure, try again later"
            data = envelope.content if isinstance(envelope.content, bytes) \
                else envelope.content.encode("utf-8")
            self._messages.append({
                "mail_from": envelope.mail_from,
                "rcpt_tos": rcpts,
                "data": data,
                "at": time.monotonic(),
            })
        return "250 2.0.0 Message accepted for delivery"

    # inspection
    def messages(self, to=None):
        with self._lock:
            msgs = list(self._messages)
        if to is not None:
            msgs = [m for m in msgs if to.lower() in m["rcpt_tos"]]
        return msgs

    def count(self, to=None):
        return len(self.messages(to))

    def rcpt_attempts(self, address):
        with self._lock:
            return self._rcpt_attempts.get(address.lower(), 0)

    def wait_messages(self, to, n=1, timeout=10.0):
        """Waits until `to` has at least n messages; returns them."""
        return wait_until(lambda: (lambda m: m if len(m) >= n else None)(self.messages(to)),
                          timeout=timeout, message=f"{n} message(s) to {to}")


# --------------------------------------------------------------------------- mail parsing

def parse_mail(data):
    return email.message_from_bytes(data, policy=email.policy.default)


def check_assignment_mail(data, *, to, fullname, assignment, public_url, message_id=None):
    """Asserts everything the contract says about an assignment email; returns the parsed one."""
    msg = parse_mail(data)
    assert str(msg["Subject"]) == "Coding Round", msg["Subject"]
    frm = msg["From"].addresses
    assert len(frm) == 1 and frm[0].addr_spec == "hiring@example.com", msg["From"]
    assert frm[0].display_name == "Hiring Team", msg["From"]
    reply_to = [a.addr_spec for a in msg["Reply-To"].addresses]
    assert reply_to == ["recruiting@example.com"], msg["Reply-To"]
    tos = msg["To"].addresses
    assert [a.addr_spec.lower() for a in tos] == [to.lower()], msg["To"]
    assert msg["Date"] is not None and msg["Date"].datetime is not None, msg["Date"]
    mid = msg["Message-ID"]
    assert mid and re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", str(mid).strip()), mid
    if message_id is not None:
        assert str(mid).strip().strip("<>") == message_id.strip("<>"), (mid, message_id)

    body = msg.get_body(preferencelist=("plain",))
    assert body is not None, "no text/plain body"
    text = body.get_content()
    assert fullname in text, f"body does not greet {fullname!r}: {text!r}"
    # A signed link (candidate.assignment.expiry.HMAC-SHA256), alone on its line.
    link = re.compile(re.escape(public_url) + r"/d/[A-Za-z0-9_-]+\." + re.escape(assignment)
                      + r"\.[1-9][0-9]*\.[A-Za-z0-9_-]{43}")
    assert any(link.fullmatch(line.strip()) for line in text.splitlines()), \
        f"body lacks a signed link to {assignment!r} on a line of its own: {text!r}"

    atts = list(msg.iter_attachments())
    assert len(atts) == 1, [a.get_filename() for a in atts]
    att = atts[0]
    assert att.get_filename() == f"{assignment}.zip", att.get_filename()
    assert att.get_content_type() == "application/zip", att.get_content_type()
    assert str(att["Content-Transfer-Encoding"]).lower() == "base64"
    assert att.get_content() == assignment_bytes(assignment), "attached zip differs from the file"
    return msg


def signed_links_in(msg, public_url):
    """The signed download links of a message's text body."""
    return [u for u in links_in(msg) if u.startswith(public_url + "/d/")]


def links_in(msg):
    text = msg.get_body(preferencelist=("plain",)).get_content()
    return re.findall(r"https?://[^\s<>\"]+", text)
