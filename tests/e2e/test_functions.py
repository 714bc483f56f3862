"""Stream functions end to end (issue 3): the seed's serverless.yml, exec handlers in Node.js and
Python, a webhook, filters, bisect and dead letters with redrive, disable/enable, timeouts,
`hirestream invoke`, `hirestream logs`, /metrics, and a stream ARN naming another table."""

import json
import os
import re
import shutil
import time
import uuid

import pytest

import harness
from harness import assert_error, check_assignment_mail, run_cli

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
PY_HANDLER = f"exec:/usr/bin/python3 {FIXTURES}/record_handler.py"
NODE_HANDLER = f"exec:node {FIXTURES}/record_experience.js"
SEED_CONFIG = os.path.join(harness.REPO, "config", "testdata", "seed-serverless.yml")
SEED_BODY = (b'{"fullname":"Shekhar Gulati", "email": "shekhar@example.com", '
             b'"skills": "java", "experience": 12}')
INSERTS_ONLY = [{"eventName": ["INSERT"]}]
OTHER_TABLE_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/other/stream/x"

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
STREAM_ARN_RE = re.compile(r"^arn:aws:dynamodb:us-east-1:[0-9]*:table/candidates-dev/stream/\S*$")
START_RE = re.compile(rf"^START RequestId: ({UUID}) Version: \$LATEST$")
END_RE = re.compile(rf"^END RequestId: ({UUID})$")
REPORT_RE = re.compile(rf"^REPORT RequestId: ({UUID})\tDuration: ([0-9]+\.[0-9]{{2}}) ms\t"
                       rf"Billed Duration: ([0-9]+) ms\tMemory Size: ([0-9]+) MB\t"
                       rf"Max Memory Used: ([0-9]+) MB$")
LINE_RE = re.compile(rf"^([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}"
                     rf"\.[0-9]{{3}}Z)\t({UUID})\t(INFO|ERROR)\t(.*)$")


# --------------------------------------------------------------------------- helpers

def add_function(cfg, name, handler, *, environment=None, timeout=10, memory=256, **stream):
    """Adds functions.<name> with one stream event: test defaults overlaid with `stream`."""
    event = {"batchSize": 100, "batchWindow": 0, "startingPosition": "TRIM_HORIZON",
             "maximumRetryAttempts": 3, "bisectBatchOnFunctionError": True, "enabled": True}
    event.update(stream)
    fn = {"handler": handler, "timeout": timeout, "memorySize": memory,
          "events": [{"stream": event}]}
    if environment:
        fn["environment"] = {k: str(v) for k, v in environment.items()}
    cfg["functions"][name] = fn


def one_shard(cfg):
    """All records in one shard, so a batch's composition is known."""
    cfg["tables"]["candidates"]["shards"] = 1


def cli(launcher, hs, *args, timeout=20.0):
    """`hirestream <args> --config <the server's config>` with the server's data folder."""
    env = harness.base_env(HIRESTREAM_DATA=launcher.data_dir)
    return run_cli(*args, "--config", hs.config_path, env=env, timeout=timeout)


def read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def post_candidate(hs, email, experience, fullname="Test Candidate"):
    r = hs.post("/candidates", {"fullname": fullname, "email": email, "skills": "python",
                                "experience": experience})
    assert r.status == 201, r
    return r.json["candidateId"]


def function_status(hs, name):
    r = hs.get(f"/functions/{name}")
    assert r.status == 200, r
    return r.json


def wait_function(hs, name, predicate, timeout=10.0, message=None):
    """Polls GET /functions/<name> until predicate(status) holds; returns that status."""
    return harness.wait_until(
        lambda: (lambda f: f if predicate(f) else None)(function_status(hs, name)),
        timeout=timeout, message=message or f"status of {name}")


def stream_record_of(hs, cid, event_name="INSERT"):
    """The candidate's stream record as GET /streams/... serves it (waits for it)."""
    def find():
        for rec in hs.stream_records():
            if rec["dynamodb"]["Keys"] == {"id": {"S": cid}} and rec["eventName"] == event_name:
                return rec
        return None
    return harness.wait_until(find, timeout=5, message=f"{event_name} record of {cid}")


def parse_invocations(text):
    """Lambda-shaped log text -> {request id: {"lines": [(level, text)], "report": match}},
    asserting every line has one of the four shapes and START/END/REPORT come in order."""
    out, open_ids = {}, set()
    for line in text.splitlines():
        if m := START_RE.match(line):
            assert m.group(1) not in out, f"second START for {m.group(1)}"
            out[m.group(1)] = {"lines": [], "end": False, "report": None}
            open_ids.add(m.group(1))
        elif m := LINE_RE.match(line):
            assert m.group(2) in open_ids, f"log line outside its invocation: {line!r}"
            out[m.group(2)]["lines"].append((m.group(3), m.group(4)))
        elif m := END_RE.match(line):
            assert m.group(1) in open_ids, f"END without START: {line!r}"
            out[m.group(1)]["end"] = True
        elif m := REPORT_RE.match(line):
            inv = out.get(m.group(1))
            assert inv and inv["end"] and inv["report"] is None, f"REPORT out of order: {line!r}"
            inv["report"] = m
            open_ids.discard(m.group(1))
        else:
            raise AssertionError(f"log line of no known shape: {line!r}")
    return out


def metrics_map(text):
    """Prometheus text -> {series (name plus labels, as printed): float value}."""
    series = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, value = line.rsplit(" ", 1)
        series[name] = float(value)
    return series


def dead_letter_rows(stdout):
    """`hirestream dead-letters -f NAME` table -> rows of [id, created, condition, records,
    redriven]."""
    lines = stdout.splitlines()
    assert lines and lines[0].split() == ["ID", "CREATED", "CONDITION", "RECORDS", "REDRIVEN"], \
        stdout
    return [line.split() for line in lines[1:] if line.strip()]


def function_rows(stdout):
    """`hirestream functions` table -> {function: row words}."""
    lines = stdout.splitlines()
    assert lines and lines[0].split()[:2] == ["FUNCTION", "STATE"], stdout
    return {line.split()[0]: line.split() for line in lines[1:]
            if line.strip() and not line.startswith(" ")}


# --------------------------------------------------------------------------- 1. the seed's file

def test_seed_serverless_yml_loads_and_mails_once(launcher, smtp):
    """The seed's serverless.yml (handler -> builtin:assignment) runs as is: one email per
    candidate; and `check-config --stage prod` accepts it."""
    hs = launcher.start(smtp_url=smtp.url, config_path=SEED_CONFIG)
    r = hs.post("/candidates", raw=SEED_BODY)
    assert r.status == 201, r
    cid = r.json["candidateId"]
    msgs = smtp.wait_messages("shekhar@example.com")
    cand = hs.wait_delivery(cid, "SENT")
    check_assignment_mail(msgs[0]["data"], to="shekhar@example.com", fullname="Shekhar Gulati",
                          assignment="assignment3", public_url=hs.url,
                          message_id=cand["delivery"]["messageId"])

    fn = wait_function(hs, "sendAssignment",
                       lambda f: f["recordsBehind"] == 0 and f["recordsProcessed"] >= 1)
    assert fn["handler"] == "builtin:assignment", fn
    assert fn["state"] == "Enabled" and fn["table"] == "candidates-dev", fn
    assert STREAM_ARN_RE.match(fn["eventSourceArn"]), fn["eventSourceArn"]
    assert fn["errors"] == 0 and fn["lastError"] is None, fn
    time.sleep(1.0)  # hold: a duplicate would arrive within the retry backoff
    assert smtp.count() == 1, [m["rcpt_tos"] for m in smtp.messages()]

    proc = run_cli("check-config", "--config", SEED_CONFIG, "--stage", "prod")
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert proc.stdout.strip() == "config ok", proc.stdout


# --------------------------------------------------------------------------- 2. Node.js handler

@pytest.mark.skipif(shutil.which("node") is None,
                    reason="node (Node.js) is not on PATH: the Node.js exec handler cannot run")
def test_node_handler_sees_only_inserts_and_logs_like_lambda(launcher, smtp, tmp_path):
    """A Node.js exec handler reading NewImage.experience.N as the seed does gets exactly the
    INSERTs (filterPatterns), and `hirestream logs` shows its invocations in Lambda's shape."""
    out = tmp_path / "node-seen.txt"
    hs = launcher.start(smtp_url=smtp.url, edit=lambda cfg: add_function(
        cfg, "nodeExperience", NODE_HANDLER, environment={"OUT_FILE": out},
        filterPatterns=INSERTS_ONLY))
    tag = uuid.uuid4().hex[:8]
    people = [(f"node1-{tag}@example.com", 12, "12"), (f"node2-{tag}@example.com", 3, "3"),
              (f"node3-{tag}@example.com", 7.5, "7.5")]
    ids = [post_candidate(hs, addr, exp) for addr, exp, _ in people]
    # The builtin keeps mailing alongside, once per candidate. Waited for before the DELETE:
    # a candidate deleted before its email goes out is not mailed (the ASan build is slow
    # enough for the DELETE to win that race).
    for addr, _, _ in people:
        smtp.wait_messages(addr)
    r = hs.patch(f"/candidates/{ids[0]}", {"skills": "java, node"})
    assert r.status == 200, r
    r = hs.delete(f"/candidates/{ids[1]}")
    assert r.status == 204, r

    fn = wait_function(hs, "nodeExperience",
                       lambda f: f["recordsBehind"] == 0 and f["recordsFiltered"] >= 2
                       and f["recordsProcessed"] >= 3,
                       message="3 INSERTs processed, MODIFY and REMOVE filtered")
    assert sorted(read_lines(out)) == sorted(f"INSERT\t{a}\t{n}" for a, _, n in people), \
        read_lines(out)
    assert fn["state"] == "Enabled" and fn["handler"] == NODE_HANDLER, fn
    assert fn["filterPatterns"] == INSERTS_ONLY, fn
    assert fn["errors"] == 0 and fn["lastError"] is None, fn
    assert fn["lastProcessingResult"] == "OK", fn
    assert fn["recordsProcessed"] == 3 and fn["recordsDeadLettered"] == 0, fn
    listed = {f["function"]: f for f in hs.get("/functions").json["functions"]}
    assert set(listed) == {"sendAssignment", "nodeExperience"}, listed
    assert listed["nodeExperience"]["eventSourceArn"] == listed["sendAssignment"]["eventSourceArn"]
    assert STREAM_ARN_RE.match(fn["eventSourceArn"]), fn["eventSourceArn"]
    # `hirestream logs -f nodeExperience`, as `serverless logs -f` prints them.
    wanted = {f"experience: {n}, candidateEmail: {a}" for a, _, n in people}

    def logs_have_all():
        p = cli(launcher, hs, "logs", "-f", "nodeExperience")
        assert p.returncode == 0, (p.returncode, p.stderr)
        return p if wanted <= {t for inv in parse_invocations(p.stdout).values()
                               for _, t in inv["lines"]} else None

    proc = harness.wait_until(logs_have_all, timeout=5, message="the handler's lines in the logs")
    invocations = parse_invocations(proc.stdout)
    assert len(invocations) == function_status(hs, "nodeExperience")["invocations"], proc.stdout
    for rid, inv in invocations.items():
        assert inv["end"] and inv["report"], f"invocation {rid} has no END/REPORT:\n{proc.stdout}"
        rep = inv["report"]
        assert int(rep.group(3)) >= float(rep.group(2)), rep.group(0)  # billed >= duration
        assert rep.group(4) == "256", rep.group(0)
        assert 1 <= int(rep.group(5)) <= 256, rep.group(0)  # node's memory, measured
        assert all(level == "INFO" for level, _ in inv["lines"]), inv["lines"]
    # --since groups lines by invocation (a START waits for its invocation's first timestamp),
    # so compare invocations, not line order.
    since = cli(launcher, hs, "logs", "-f", "nodeExperience", "--since", "10m")
    assert since.returncode == 0, (since.returncode, since.stderr)
    recent = parse_invocations(since.stdout)
    assert {k: v["lines"] for k, v in recent.items()} == \
        {k: v["lines"] for k, v in invocations.items()}, since.stdout
    future = cli(launcher, hs, "logs", "-f", "nodeExperience", "--since", "2999-01-01")
    assert future.returncode == 0 and future.stdout == "", (future.stderr, future.stdout)


# --------------------------------------------------------------------------- 3. webhook

def test_webhook_receives_the_exact_lambda_event(launcher, smtp, webhook):
    """A webhook gets POST {"Records": [...]} exactly as the stream serves the record, next to
    the builtin sendAssignment on the same table."""
    hs = launcher.start(smtp_url=smtp.url, edit=lambda cfg: add_function(
        cfg, "hook", webhook.url, filterPatterns=INSERTS_ONLY))
    addr = f"hook-{uuid.uuid4().hex[:8]}@example.com"
    cid = post_candidate(hs, addr, 4, fullname="Web Hook")
    req = harness.wait_until(
        lambda: next((q for q in webhook.requests() if addr in q["raw"].decode()), None),
        timeout=10, message="the webhook's POST")
    assert req["path"] == "/hook", req["path"]
    assert req["headers"].get("content-type", "").startswith("application/json"), req["headers"]
    assert re.fullmatch(UUID, req["headers"].get("x-hirestream-request-id", "")), req["headers"]
    body = req["body"]
    assert isinstance(body, dict) and list(body) == ["Records"], req["raw"][:300]
    assert len(body["Records"]) == 1, body
    rec = body["Records"][0]
    assert rec["eventSource"] == "aws:dynamodb" and rec["eventName"] == "INSERT", rec
    assert rec["eventVersion"] == "1.1" and rec["awsRegion"] == "us-east-1", rec
    assert STREAM_ARN_RE.match(rec["eventSourceARN"]), rec["eventSourceARN"]
    ddb = rec["dynamodb"]
    assert ddb["Keys"] == {"id": {"S": cid}}, ddb
    assert ddb["NewImage"]["email"] == {"S": addr}, ddb
    assert ddb["NewImage"]["fullname"] == {"S": "Web Hook"}, ddb
    assert ddb["NewImage"]["experience"] == {"N": "4"}, ddb
    assert "OldImage" not in ddb and ddb["StreamViewType"] == "NEW_AND_OLD_IMAGES", ddb
    assert re.fullmatch(r"[0-9]{21,40}", ddb["SequenceNumber"]), ddb
    assert rec == stream_record_of(hs, cid), "the webhook's record differs from the stream's"

    fn = wait_function(hs, "hook", lambda f: f["recordsBehind"] == 0 and f["recordsProcessed"])
    assert fn["handler"] == webhook.url and fn["lastProcessingResult"] == "OK", fn
    assert fn["eventSourceArn"] == rec["eventSourceARN"], fn
    smtp.wait_messages(addr)
    assert len([q for q in webhook.requests() if addr in q["raw"].decode()]) == 1


def test_webhook_batch_item_failure_resumes_from_the_failed_record(launcher, webhook):
    """ReportBatchItemFailures: the record the webhook names, and only it and those after it,
    come again; what came before it is not delivered twice."""
    state = {"failed": None}

    def respond(req):
        recs = req["body"]["Records"]
        if state["failed"] is None and len(recs) >= 2:
            state["failed"] = recs[1]["dynamodb"]["SequenceNumber"]
            answer = {"batchItemFailures": [{"itemIdentifier": state["failed"]}]}
        else:
            answer = {"batchItemFailures": []}
        return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()

    webhook.respond = respond

    def edit(cfg):
        one_shard(cfg)
        # Disabled at start, so the three records form one batch when it is enabled.
        add_function(cfg, "hook", webhook.url, batchSize=10, filterPatterns=INSERTS_ONLY,
                     functionResponseType="ReportBatchItemFailures", maximumRetryAttempts=2,
                     enabled=False)

    hs = launcher.start(edit=edit)
    tag = uuid.uuid4().hex[:8]
    emails = [f"partial{i}-{tag}@example.com" for i in range(3)]
    for i, addr in enumerate(emails):
        post_candidate(hs, addr, i)
    assert function_status(hs, "hook")["state"] == "Disabled"
    r = hs.patch("/functions/hook", {"enabled": True})
    assert r.status == 200 and r.json["state"] == "Enabled", r

    fn = wait_function(hs, "hook", lambda f: f["recordsBehind"] == 0 and len(webhook.requests())
                       >= 2, message="the batch and its partial retry")
    time.sleep(0.5)  # hold: a third delivery would come within the retry backoff
    got = [[r["dynamodb"]["NewImage"]["email"]["S"] for r in q["body"]["Records"]]
           for q in webhook.requests()]
    assert got == [emails, emails[1:]], got
    second = webhook.requests()[1]["body"]["Records"]
    assert second[0]["dynamodb"]["SequenceNumber"] == state["failed"], second
    fn = function_status(hs, "hook")
    assert fn["functionResponseTypes"] == ["ReportBatchItemFailures"], fn
    assert fn["invocations"] == 2 and fn["errors"] == 0, fn
    assert fn["recordsProcessed"] == 3 and fn["recordsDeadLettered"] == 0, fn
    assert fn["lastProcessingResult"] == "OK" and "1 failed record" in fn["lastError"], fn


# --------------------------------------------------------------------------- 4. poison record

def test_poison_record_is_isolated_dead_lettered_and_redriven(launcher, smtp, tmp_path):
    """Bisect isolates a poison record: the other four are handled once, the poison reaches the
    dead letters with AWS's invocation record, and after a fix a CLI redrive handles it; the
    builtin mails all five meanwhile."""
    out, attempts, allow = tmp_path / "ok.txt", tmp_path / "attempts.txt", tmp_path / "allow"

    def edit(cfg):
        one_shard(cfg)
        add_function(cfg, "screen", PY_HANDLER,
                     environment={"OUT_FILE": out, "ATTEMPTS_FILE": attempts,
                                  "POISON_PREFIX": "poison", "ALLOW_FILE": allow},
                     batchWindow=1, bisectBatchOnFunctionError=True, maximumRetryAttempts=1,
                     filterPatterns=INSERTS_ONLY, destinations={"onFailure": "deadletters"},
                     enabled=False)  # enabled once all five are in: one batch of five

    hs = launcher.start(smtp_url=smtp.url, edit=edit)
    tag = uuid.uuid4().hex[:8]
    emails = [f"good0-{tag}@example.com", f"good1-{tag}@example.com",
              f"poison-{tag}@example.com", f"good3-{tag}@example.com", f"good4-{tag}@example.com"]
    ids = {addr: post_candidate(hs, addr, 2 + i) for i, addr in enumerate(emails)}
    poison = emails[2]
    r = hs.patch("/functions/screen", {"enabled": True})
    assert r.status == 200, r

    fn = wait_function(hs, "screen", lambda f: f["recordsBehind"] == 0
                       and f["pendingDeadLetters"] == 1, timeout=15,
                       message="the poison record dead-lettered and the shard drained")
    handled = [line.split("\t")[1] for line in read_lines(out)]
    assert sorted(handled) == sorted(e for e in emails if e != poison), handled
    tried = [json.loads(line) for line in read_lines(attempts)]
    assert tried[0] == emails, f"first invocation was not the batch of five: {tried}"
    with_poison = [t for t in tried if poison in t]
    assert with_poison.count([poison]) == 2, f"isolated poison not tried 1 + 1 retry: {tried}"
    assert fn["recordsProcessed"] == 4 and fn["recordsDeadLettered"] == 1, fn
    assert "exit status 1" in fn["lastError"] and poison in fn["lastError"], fn

    listing = hs.get("/functions/screen/dead-letters")
    assert listing.status == 200, listing
    letters = listing.json["deadLetters"]
    assert len(letters) == 1 and listing.json["nextBefore"] is None, listing.json
    letter = letters[0]
    assert letter["function"] == "screen" and letter["destination"] == "deadletters", letter
    assert letter["table"] == "candidates-dev" and letter["recordCount"] == 1, letter
    assert letter["condition"] == "RetryAttemptsExhausted" and letter["redrivenAt"] is None, letter
    ir = letter["invocationRecord"]
    ctx = ir["requestContext"]
    assert ctx["condition"] == "RetryAttemptsExhausted", ir
    assert ctx["functionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:screen", ir
    assert re.fullmatch(UUID, ctx["requestId"]), ir
    # Every invocation that carried the poison record counts (the batch of five, a bisected
    # half, then the isolated record and its one retry).
    assert ctx["approximateInvokeCount"] == len(with_poison), (ir, tried)
    assert ctx["approximateInvokeCount"] >= 2, ir
    assert ir["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                     "functionError": "Unhandled"}, ir
    assert ir["version"] == "1.0", ir
    info = ir["DDBStreamBatchInfo"]
    poison_rec = stream_record_of(hs, ids[poison])
    seq = poison_rec["dynamodb"]["SequenceNumber"]
    assert info["batchSize"] == 1, info
    assert info["startSequenceNumber"] == seq == info["endSequenceNumber"], (info, seq)
    assert info["streamArn"] == fn["eventSourceArn"], info
    detail = hs.get(f"/functions/screen/dead-letters/{letter['id']}")
    assert detail.status == 200, detail
    assert detail.json["records"] == [poison_rec], detail.json["records"]

    # `hirestream dead-letters -f screen` lists it.
    proc = cli(launcher, hs, "dead-letters", "-f", "screen", "--url", hs.url)
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    rows = dead_letter_rows(proc.stdout)
    assert [(r[0], r[2], r[3], r[4]) for r in rows] == \
        [(str(letter["id"]), "RetryAttemptsExhausted", "1", "no")], proc.stdout

    # A redrive while the handler still fails: refused, the letter stays pending.
    proc = cli(launcher, hs, "dead-letters", "-f", "screen", "--url", hs.url,
               "--redrive", str(letter["id"]))
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert function_status(hs, "screen")["pendingDeadLetters"] == 1

    # Fixed: the redrive hands the poison record to the handler once more, and succeeds.
    allow.write_text("fixed\n")
    proc = cli(launcher, hs, "dead-letters", "-f", "screen", "--url", hs.url,
               "--redrive", str(letter["id"]))
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    redriven = json.loads(proc.stdout)
    assert redriven["id"] == letter["id"] and isinstance(redriven["redrivenAt"], int), redriven
    handled = [line.split("\t")[1] for line in read_lines(out)]
    assert sorted(handled) == sorted(emails), handled
    fn = function_status(hs, "screen")
    assert fn["pendingDeadLetters"] == 0, fn
    assert hs.get(f"/functions/screen/dead-letters/{letter['id']}").json["redrivenAt"] == \
        redriven["redrivenAt"]

    # The builtin's own mapping mailed everyone, the poison candidate included, once each.
    for addr in emails:
        smtp.wait_messages(addr)
    time.sleep(0.5)  # hold: a duplicate would arrive within the retry backoff
    assert sorted(m["rcpt_tos"][0] for m in smtp.messages()) == sorted(emails)


# --------------------------------------------------------------------------- 5. disable/enable

def test_disabled_function_keeps_its_place_and_resumes_when_enabled(launcher, smtp, tmp_path):
    """Disabled (CLI) the function is not invoked and its records wait (recordsBehind); enabled
    (API) it resumes from its checkpoint and catches up."""
    out = tmp_path / "tally.txt"
    hs = launcher.start(smtp_url=smtp.url, edit=lambda cfg: add_function(
        cfg, "tally", PY_HANDLER, environment={"OUT_FILE": out}, filterPatterns=INSERTS_ONLY))
    proc = cli(launcher, hs, "functions", "disable", "tally", "--url", hs.url)
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert function_rows(proc.stdout)["tally"][1] == "Disabled", proc.stdout
    assert function_status(hs, "tally")["state"] == "Disabled"

    addr = f"paused-{uuid.uuid4().hex[:8]}@example.com"
    post_candidate(hs, addr, 6)
    smtp.wait_messages(addr)  # the builtin's mapping ran: the record is in the stream
    fn = wait_function(hs, "tally", lambda f: f["recordsBehind"] >= 1)
    time.sleep(0.5)  # hold: a disabled function must not be invoked
    fn = function_status(hs, "tally")
    assert read_lines(out) == [] and fn["invocations"] == 0, (read_lines(out), fn)
    assert fn["state"] == "Disabled" and fn["recordsBehind"] >= 1, fn
    assert fn["recordsBehindCapped"] is False, fn
    proc = cli(launcher, hs, "functions", "--url", hs.url)
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    rows = function_rows(proc.stdout)
    assert rows["tally"][1] == "Disabled" and int(rows["tally"][4]) >= 1, proc.stdout
    assert rows["sendAssignment"][1] == "Enabled", proc.stdout

    assert_error(hs.patch("/functions/tally", {"enabled": "yes"}), 400, "invalid_argument",
                 "enabled")
    assert_error(hs.patch("/functions/nosuch", {"enabled": True}), 404, "not_found")
    r = hs.patch("/functions/tally", {"enabled": True})
    assert r.status == 200 and r.json["state"] == "Enabled", r
    fn = wait_function(hs, "tally", lambda f: f["recordsBehind"] == 0 and f["invocations"] >= 1)
    assert read_lines(out) == [f"INSERT\t{addr}\t6"], read_lines(out)
    assert fn["state"] == "Enabled" and fn["lastProcessingResult"] == "OK", fn


# --------------------------------------------------------------------------- 6. exec timeout

def test_exec_handler_past_its_timeout_is_killed_and_dead_lettered(launcher, tmp_path):
    """An exec handler still running at `timeout` is killed ("Task timed out"), and with
    maximumRetryAttempts 0 its record goes to the dead letters after that one try."""
    pid_file = tmp_path / "pids.txt"
    hs = launcher.start(edit=lambda cfg: add_function(
        cfg, "slow", PY_HANDLER, timeout=1,
        environment={"PID_FILE": pid_file, "SLEEP_SECONDS": 30},
        maximumRetryAttempts=0, filterPatterns=INSERTS_ONLY,
        destinations={"onFailure": "deadletters"}))
    addr = f"slow-{uuid.uuid4().hex[:8]}@example.com"
    post_candidate(hs, addr, 1)
    fn = wait_function(hs, "slow", lambda f: f["pendingDeadLetters"] == 1
                       and f["recordsBehind"] == 0, timeout=10,
                       message="the timed-out record dead-lettered")
    assert "Task timed out after 1.00 seconds" in fn["lastError"], fn
    assert fn["lastProcessingResult"].startswith("PROBLEM"), fn
    assert fn["invocations"] == 1 and fn["errors"] == 1, fn
    assert fn["recordsDeadLettered"] == 1 and fn["recordsProcessed"] == 0, fn
    letter = hs.get("/functions/slow/dead-letters").json["deadLetters"][0]
    assert letter["condition"] == "RetryAttemptsExhausted", letter
    assert letter["invocationRecord"]["requestContext"]["approximateInvokeCount"] == 1, letter
    assert letter["invocationRecord"]["DDBStreamBatchInfo"]["batchSize"] == 1, letter

    pids = [int(p) for p in read_lines(pid_file)]
    assert len(pids) == 1, pids
    harness.wait_until(lambda: not os.path.exists(f"/proc/{pids[0]}"), timeout=5,
                       message=f"the timed-out handler (pid {pids[0]}) gone")

    proc = cli(launcher, hs, "logs", "-f", "slow")
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    (inv,) = parse_invocations(proc.stdout).values()
    assert ("ERROR", "Task timed out after 1.00 seconds") in inv["lines"], proc.stdout
    assert float(inv["report"].group(2)) >= 1000.0, inv["report"].group(0)


# --------------------------------------------------------------------------- 7. invoke

def test_invoke_runs_one_event_like_serverless_invoke_local(launcher, tmp_path):
    """`hirestream invoke -f NAME --path event.json` runs the handler once with a stream
    record: START/log lines/END/REPORT then the answer, exit 0; a failing handler exits 1 with
    errorMessage."""
    out = tmp_path / "invoked.txt"

    def edit(cfg):
        cfg["functions"]["echo"] = {"handler": PY_HANDLER, "memorySize": 128,
                                    "environment": {"OUT_FILE": str(out)}}
        cfg["functions"]["broken"] = {"handler": PY_HANDLER,
                                      "environment": {"FAIL": "boom: cannot read candidate"}}

    hs = launcher.start(edit=edit)
    addr = f"invoke-{uuid.uuid4().hex[:8]}@example.com"
    cid = post_candidate(hs, addr, 6)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"Records": [stream_record_of(hs, cid)]}), encoding="utf-8")
    env = harness.base_env(HIRESTREAM_DATA=str(tmp_path / "invoke-data"))

    proc = run_cli("invoke", "-f", "echo", "--path", str(event), "--config", hs.config_path,
                   env=env)
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stdout.splitlines()
    m = START_RE.match(lines[0])
    assert m, proc.stdout
    rid = m.group(1)
    log = LINE_RE.match(lines[1])
    assert log and log.group(2) == rid and log.group(4) == f"handled INSERT {addr}", proc.stdout
    assert lines[2] == f"END RequestId: {rid}", proc.stdout
    assert re.match(rf"^REPORT RequestId: {rid}\tDuration: [0-9]+\.[0-9]{{2}} ms\t.*"
                    r"Memory Size: 128 MB", lines[3]), proc.stdout
    assert json.loads(lines[4]) == {"batchItemFailures": [], "processed": 1}, proc.stdout
    assert len(lines) == 5, proc.stdout
    assert read_lines(out) == [f"INSERT\t{addr}\t6"]

    proc = run_cli("invoke", "-f", "broken", "--path", str(event), "--config", hs.config_path,
                   env=env)
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stdout.splitlines()
    assert START_RE.match(lines[0]) and END_RE.match(lines[-3]), proc.stdout
    assert any(LINE_RE.match(x) and x.endswith("\tboom: cannot read candidate") for x in lines), \
        proc.stdout
    answer = json.loads(lines[-1])
    assert "exit status 1" in answer["errorMessage"], answer
    assert "boom: cannot read candidate" in answer["errorMessage"], answer

    proc = run_cli("invoke", "-f", "nosuch", "--path", str(event), "--config", hs.config_path,
                   env=env)
    assert proc.returncode == 2 and "nosuch" in proc.stderr, (proc.returncode, proc.stderr)


# --------------------------------------------------------------------------- 8. metrics

def test_metrics_count_functions_table_writes_and_mail(launcher, smtp, tmp_path):
    """/metrics has per-function invocations, errors, duration and iterator age, per-table
    writes by event, and mail deliveries by outcome, matching what happened."""
    out = tmp_path / "tally.txt"
    hs = launcher.start(smtp_url=smtp.url, edit=lambda cfg: add_function(
        cfg, "tally", PY_HANDLER, environment={"OUT_FILE": out}, filterPatterns=INSERTS_ONLY))
    tag = uuid.uuid4().hex[:8]
    emails = [f"metric{i}-{tag}@example.com" for i in range(2)]
    ids = [post_candidate(hs, addr, 3) for addr in emails]
    assert hs.patch(f"/candidates/{ids[0]}", {"skills": "go"}).status == 200
    for addr, cid in zip(emails, ids):
        smtp.wait_messages(addr)
        hs.wait_delivery(cid, "SENT")
    tally = wait_function(hs, "tally", lambda f: f["recordsBehind"] == 0
                          and f["recordsProcessed"] == 2)
    builtin = wait_function(hs, "sendAssignment", lambda f: f["recordsBehind"] == 0)

    r = hs.get("/metrics")
    assert r.status == 200, r
    assert r.headers.get("content-type", "").startswith("text/plain"), r.headers
    text = r.body.decode("utf-8")
    m = metrics_map(text)
    for name, kind in [("hirestream_function_invocations_total", "counter"),
                       ("hirestream_function_errors_total", "counter"),
                       ("hirestream_function_duration_seconds", "histogram"),
                       ("hirestream_function_iterator_age_milliseconds", "gauge"),
                       ("hirestream_function_dead_letter_records_total", "counter"),
                       ("hirestream_table_writes_total", "counter"),
                       ("hirestream_mail_deliveries_total", "counter")]:
        assert f"# TYPE {name} {kind}" in text, f"no TYPE line for {name}:\n{text}"
    for name, fn in (("tally", tally), ("sendAssignment", builtin)):
        lbl = f'{{function="{name}"}}'
        assert m[f"hirestream_function_invocations_total{lbl}"] == fn["invocations"] >= 1, text
        assert m[f"hirestream_function_errors_total{lbl}"] == 0, text
        assert m[f"hirestream_function_duration_seconds_count{lbl}"] == fn["invocations"], text
        assert m[f'hirestream_function_duration_seconds_bucket{{function="{name}",le="+Inf"}}'] \
            == fn["invocations"], text
        assert m[f"hirestream_function_duration_seconds_sum{lbl}"] > 0, text
        assert m[f"hirestream_function_iterator_age_milliseconds{lbl}"] >= 0, text
        assert m[f"hirestream_function_dead_letter_records_total{lbl}"] == 0, text
    assert m['hirestream_table_writes_total{table="candidates-dev",event="INSERT"}'] == 2, text
    assert m['hirestream_table_writes_total{table="candidates-dev",event="MODIFY"}'] == 1, text
    assert m['hirestream_mail_deliveries_total{outcome="sent"}'] == 2, text
    assert m.get('hirestream_mail_deliveries_total{outcome="failed"}', 0) == 0, text


# --------------------------------------------------------------------------- 9. foreign ARN

@pytest.mark.parametrize("stream,key", [
    ({"arn": OTHER_TABLE_ARN}, "functions.elsewhere.events[0].stream.arn"),
    (OTHER_TABLE_ARN, "functions.elsewhere.events[0].stream"),
])
def test_stream_arn_of_another_table_stops_start_up(tmp_path, stream, key):
    """A function whose stream ARN names a table hirestream does not have stops start-up (and
    check-config) with status 2 and a message naming the key and the table."""
    cfg = harness.make_config(data_dir=tmp_path / "data", outbox_dir=tmp_path / "outbox")
    cfg["functions"]["elsewhere"] = {"handler": PY_HANDLER, "events": [{"stream": stream}]}
    path = tmp_path / "hirestream.yaml"
    path.write_text(harness.to_yaml(cfg) + "\n", encoding="utf-8")
    for command in ("serve", "check-config"):
        proc = run_cli(command, "--config", str(path), timeout=15)
        assert proc.returncode == 2, (command, proc.returncode, proc.stderr)
        first = proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else ""
        assert f"{key}:" in first and "'other'" in first, (command, proc.stderr)
        assert "api: " not in proc.stdout, proc.stdout
