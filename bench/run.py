#!/usr/bin/python3
"""hirestream's benchmarks: prints one table and writes bench/RESULTS.md.

Every figure is measured in this run on this machine, and each is also given as a ratio to a
reference measured in the same run (the load generator shares the cores). See bench/README.md.
"""

import datetime
import io
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BINARY = os.environ.get("HIRESTREAM_BIN", os.path.join(REPO, "build", "hirestream"))
DURATION = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = 64
MAIL_MESSAGES = int(os.environ.get("BENCH_MAIL_MESSAGES", "5000"))
PIPELINE_RATE = int(os.environ.get("BENCH_PIPELINE_RATE", "1000"))
PIPELINE_SECONDS = int(os.environ.get("BENCH_PIPELINE_SECONDS", "60"))
BACKLOG = int(os.environ.get("HIRESTREAM_BENCH_BACKLOG", "20000"))
GROWTH = int(os.environ.get("HIRESTREAM_BENCH_GROWTH", "200000"))
SEED_WARMUP = int(os.environ.get("BENCH_SEED_WARMUP", "30"))
API_KEY = "hs_bench_" + "k" * 32  # seeded as the admin key of each benchmarked server


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


def http(method, url, body=None, headers=None, timeout=10):
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if "x-api-key" not in {k.lower() for k in (headers or {})}:
        req.add_header("x-api-key", API_KEY)
    if data is not None and "Content-Type" not in (headers or {}):
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{method} {url}: {e.code} {e.read()[:500]!r}") from None


def wrk(url, script=None, args=(), duration=DURATION, timeout=2):
    cmd = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{duration}s", f"--timeout={timeout}s",
           "--latency"]
    if script:
        cmd += ["-s", os.path.join(HERE, script)]
    cmd.append(url)
    if args:
        cmd += ["--", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = latency_ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1))
    p99 = latency_ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(0) if errors else "", "raw": out}


def latency_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def write_config(workdir, *, function_enabled, assignment_zip=None):
    """The shipped config, with paths made absolute and the function enabled or not."""
    os.makedirs(workdir, exist_ok=True)
    config = open(os.path.join(REPO, "config", "hirestream.yaml"), encoding="utf-8").read()
    if assignment_zip:
        for n in (1, 2, 3):
            config = config.replace(f"../assignments/assignment{n}.zip", assignment_zip)
    config = config.replace("../assignments/", os.path.join(REPO, "assignments") + "/")
    if not function_enabled:
        config = config.replace("          enabled: true", "          enabled: false")
    path = os.path.join(workdir, "hirestream.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(config)
    return path


def hirestream_env(workdir, port=0, smtp_url=""):
    env = dict(os.environ, HIRESTREAM_LISTEN=f"127.0.0.1:{port}",
               HIRESTREAM_DATA=os.path.join(workdir, "data"),
               HIRESTREAM_OUTBOX=os.path.join(workdir, "outbox"),
               HIRESTREAM_LOG_LEVEL="warn", HIRESTREAM_PUBLIC_URL="http://127.0.0.1",
               HIRESTREAM_ADMIN_KEY=API_KEY)
    env.pop("HIRESTREAM_SMTP_URL", None)
    if smtp_url:
        env["HIRESTREAM_SMTP_URL"] = smtp_url
    return env


def import_candidates(workdir, count, run_id, assignment_zip=None):
    """Stores `count` candidates with `hirestream bulk-load` (the API's validation and
    write path, in large group commits), the server stopped. Returns the rate."""
    path = write_config(workdir, function_enabled=False, assignment_zip=assignment_zip)
    proc = subprocess.Popen([BINARY, "bulk-load", "--config", path],
                            env=hirestream_env(workdir), stdin=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    chunk = 10000
    for start in range(0, count, chunk):
        lines = "".join(
            f'{{"fullname":"Imported Candidate","email":"i{run_id}-{i}@example.com",'
            f'"skills":"java","experience":{i % 12}}}\n'
            for i in range(start, min(count, start + chunk)))
        proc.stdin.write(lines.encode())
    proc.stdin.close()
    err = proc.stderr.read().decode()
    if proc.wait() != 0:
        raise RuntimeError(f"bulk-load failed: {err}")
    return float(re.search(r"\(([\d.]+)/s\)", err).group(1))


class Hirestream:
    def __init__(self, workdir, *, function_enabled, smtp_url="", assignment_zip=None):
        self.workdir = workdir
        self.port = free_port()
        path = write_config(workdir, function_enabled=function_enabled,
                            assignment_zip=assignment_zip)
        env = hirestream_env(workdir, self.port, smtp_url)
        self.started = time.monotonic()
        self.proc = subprocess.Popen([BINARY, "serve", "--config", path], env=env,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(workdir, "stderr.log"), "ab"))
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready_ms = self._wait_ready()

    def _wait_ready(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hirestream exited with {self.proc.returncode}: see "
                                   f"{self.workdir}/stderr.log")
            try:
                status, _ = http("GET", self.url + "/healthz", timeout=1)
                if status == 200:
                    break
            except (OSError, RuntimeError):
                time.sleep(0.002)
        else:
            raise RuntimeError("hirestream did not start")
        ready_ms = (time.monotonic() - self.started) * 1000
        # The HTTP server answers before the stream functions are wired (app/service.cc starts
        # it first): a PATCH /functions/... in that window is a 404. Wait for them too.
        while b'"sendAssignment"' not in http("GET", self.url + "/functions")[1]:
            if time.monotonic() > deadline:
                raise RuntimeError("hirestream's functions did not start")
            time.sleep(0.002)
        return ready_ms

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def machine():
    """lscpu's main lines, the kernel, the memory, and what else ran when the run started."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    keep = ("Architecture", "Model name", "CPU(s)", "Thread(s) per core", "Core(s) per socket",
            "Socket(s)", "CPU max MHz", "L2 cache", "L3 cache", "Hypervisor vendor",
            "Virtualization type")
    cpu = [re.sub(r":\s+", ": ", line.strip()) for line in lscpu.splitlines()
           if line.split(":")[0].strip() in keep]
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "kernel": f"Linux {platform.release()} ({platform.version()})",
            "memory": f"{mem:.1f} GiB", "date": datetime.date.today().isoformat()}


def load_average():
    with open("/proc/loadavg", encoding="ascii") as f:
        return float(f.read().split()[0])


def busy_processes():
    """Other processes using CPU (over 5% over their life or now), by ps."""
    out = subprocess.run(["ps", "-eo", "pcpu,rss,comm", "--sort=-pcpu", "--no-headers"],
                         capture_output=True, text=True).stdout
    busy = []
    for line in out.splitlines():
        cpu, rss, comm = line.split(None, 2)
        if float(cpu) >= 5 and comm not in ("ps", "python3"):
            busy.append(f"{comm} {cpu}% CPU")
    return busy


def make_zip(size):
    """A zip of about `size` bytes of incompressible data (a 40 KiB assignment)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("assignment/README.md", os.urandom(size - 200))
    return buf.getvalue()


class Dynalite:
    """npm's dynalite on a free port with one table keyed by `id`."""

    def __init__(self, table):
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["node", os.path.join(HERE, "node_modules", "dynalite", "cli.js"),
             "--port", str(self.port), "--createTableMs", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}/"
        wait_port(self.port)
        headers = {"Content-Type": "application/x-amz-json-1.0",
                   "X-Amz-Target": "DynamoDB_20120810.CreateTable",
                   "X-Amz-Date": "20261203T000000Z",
                   "Authorization": "AWS4-HMAC-SHA256 Credential=bench/20261203/us-east-1/"
                                    "dynamodb/aws4_request, SignedHeaders=host, Signature=0"}
        http("POST", self.url, {
            "TableName": table,
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"}, headers=headers)
        time.sleep(0.2)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def stored_inserts(hs):
    _, body = http("GET", hs.url + "/metrics")
    return int(sum(float(v) for v in re.findall(
        r'^hirestream_table_writes_total\{[^}]*event="INSERT"[^}]*\} ([\d.e+]+)$',
        body.decode(), re.M)))


def bench_ingest(tmp):
    """Item 1: durable ingest, function disabled; bare-HTTP ceiling; dynalite's PutItem.
    Item 5: RSS idle at start, under ingest, and idle again after it."""
    hs = Hirestream(os.path.join(tmp, "ingest"), function_enabled=False)
    idle_rss = rss_kib(hs.proc.pid)
    ingest = wrk(hs.url + "/candidates", "post_candidate.lua", [str(os.getpid()), API_KEY])
    # The WAL right after the ingest: checkpoints must keep it bounded under sustained writes.
    data = os.path.join(tmp, "ingest", "data")
    wal_bytes = os.path.getsize(os.path.join(data, "hirestream.db-wal"))
    db_bytes = os.path.getsize(os.path.join(data, "hirestream.db"))
    bare = wrk(hs.url + "/healthz")
    peak_rss = rss_kib(hs.proc.pid, "VmHWM")
    stored = stored_inserts(hs)
    time.sleep(5)  # idle again: the connections closed, background loops quiet
    after_rss = rss_kib(hs.proc.pid)
    hs.stop()
    dyn = Dynalite("candidates")
    try:
        dynalite = wrk(dyn.url, "put_item.lua")
    finally:
        dyn.stop()
    return {"ingest": ingest, "bare": bare, "dynalite": dynalite, "idle_rss": idle_rss,
            "peak_rss": peak_rss, "after_rss": after_rss, "stored": stored,
            "wal_bytes": wal_bytes, "db_bytes": db_bytes}


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def bench_pipeline(tmp):
    """Item 2: 201 of a POST -> the SMTP server's 250 for that candidate's email, at a paced
    PIPELINE_RATE/s for PIPELINE_SECONDS, the shipped config and assignments (function enabled).
    Reference: the POSTs' own latency (sent -> 201) in the same run."""
    sink_port = free_port()
    accepted = os.path.join(tmp, "pipeline-accepted.txt")
    answered = os.path.join(tmp, "pipeline-answered.txt")
    sink = subprocess.Popen([sys.executable, os.path.join(HERE, "smtp_sink.py"), str(sink_port),
                             accepted])
    hs = None
    try:
        wait_port(sink_port)
        hs = Hirestream(os.path.join(tmp, "pipeline"), function_enabled=True,
                        smtp_url=f"smtp://127.0.0.1:{sink_port}?tls=none")
        subprocess.run([sys.executable, os.path.join(HERE, "paced_post.py"), str(hs.port),
                        str(PIPELINE_RATE), str(PIPELINE_SECONDS), API_KEY, str(os.getpid()),
                        answered], check=True, stderr=subprocess.DEVNULL)
        posts = {}
        with open(answered, encoding="ascii") as f:
            for line in f:
                email, status, sent, done = line.split()
                if status == "201":
                    posts[email] = (int(sent), int(done))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the last emails still on their way
            _, body = http("GET", hs.url + "/metrics")
            sent = re.search(r'^hirestream_mail_deliveries_total\{outcome="sent"\} ([\d.e+]+)$',
                             body.decode(), re.M)
            if sent and float(sent.group(1)) >= len(posts):
                break
            time.sleep(0.1)
        peak_rss = rss_kib(hs.proc.pid, "VmHWM")
    finally:
        if hs:
            hs.stop()
        sink.terminate()
        sink.wait(timeout=10)
    pipeline, mailed = [], set()
    with open(accepted, encoding="ascii") as f:
        for line in f:
            t, *rcpts = line.split()
            for r in rcpts:
                if r in posts and r not in mailed:
                    mailed.add(r)
                    pipeline.append((int(t) - posts[r][1]) / 1e6)
    post_ms = [(done - sent) / 1e6 for sent, done in posts.values()]
    return {"posts": len(posts), "requested": int(PIPELINE_RATE * PIPELINE_SECONDS),
            "mailed": len(mailed), "p50": percentile(pipeline, 50),
            "p99": percentile(pipeline, 99), "max": max(pipeline, default=float("nan")),
            "post_p50": percentile(post_ms, 50), "post_p99": percentile(post_ms, 99),
            "peak_rss": peak_rss}


def shipped_pool_size():
    """The shipped config's mail.smtp.poolSize: the SMTP sessions hirestream sends over."""
    config = open(os.path.join(REPO, "config", "hirestream.yaml"), encoding="utf-8").read()
    return int(re.search(r"^\s*poolSize:\s*(\d+)", config, re.M).group(1))


def drain(workdir, zip_path, sink_port, expected):
    """Enables sendAssignment on a stored backlog and waits until `expected` emails are sent.
    Returns the rate and RSS samples (one per 0.05 s, KiB)."""
    hs = Hirestream(workdir, function_enabled=False,
                    smtp_url=f"smtp://127.0.0.1:{sink_port}?tls=none", assignment_zip=zip_path)
    started = time.monotonic()
    http("PATCH", hs.url + "/functions/sendAssignment", {"enabled": True})
    samples = []
    while True:
        _, body = http("GET", hs.url + "/metrics")
        sent = re.search(r'^hirestream_mail_deliveries_total\{outcome="sent"\} ([\d.e+]+)$',
                         body.decode(), re.M)
        samples.append(rss_kib(hs.proc.pid))
        if sent and float(sent.group(1)) >= expected:
            break
        if time.monotonic() - started > 3600:
            raise RuntimeError("the backlog did not drain in an hour")
        # Often enough that the wait adds little to a drain of a few seconds (at 0.25 s a
        # 2-second drain read 1-12 % slow); RSS is sampled at the same pace.
        time.sleep(0.05)
    rate = expected / (time.monotonic() - started)
    hwm = rss_kib(hs.proc.pid, "VmHWM")
    hs.stop()
    return rate, samples, hwm


def bench_mail(tmp):
    """Item 3: a backlog of MAIL_MESSAGES assignment emails with a 40 KiB zip (POSTed with the
    function disabled) drained to postfix's smtp-sink, against smtp-source's own rate to the
    same sink with messages of the same size. Item 4: a backlog of BACKLOG candidates, stored
    by `hirestream bulk-load`, drained the same way; RSS sampled during the drain."""
    sink_port = free_port()
    sink = subprocess.Popen(["/usr/sbin/smtp-sink", "-c", "-u", "nobody",
                             f"127.0.0.1:{sink_port}", "256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(sink_port)
        zip_path = os.path.join(tmp, "assignment-40k.zip")
        with open(zip_path, "wb") as f:
            f.write(make_zip(40 * 1024))
        workdir = os.path.join(tmp, "mail")
        hs = Hirestream(workdir, function_enabled=False, assignment_zip=zip_path)
        for i in range(MAIL_MESSAGES):
            http("POST", hs.url + "/candidates",
                 {"fullname": "Mail Bench", "email": f"m{i}@example.com", "skills": "c",
                  "experience": i % 12})
        hs.stop()
        rate, samples, hwm = drain(workdir, zip_path, sink_port, MAIL_MESSAGES)
        # smtp-source: same sink, as many sessions as hirestream keeps (the shipped config's
        # mail.smtp.poolSize), same message size.
        size = len(open(zip_path, "rb").read()) * 4 // 3 + 1500  # base64 + headers and text
        t0 = time.monotonic()
        subprocess.run(["/usr/sbin/smtp-source", "-s", str(shipped_pool_size()), "-m",
                        str(MAIL_MESSAGES), "-l",
                        str(size), "-f", "hiring@example.com", "-t", "bench@example.com",
                        f"127.0.0.1:{sink_port}"], check=True, capture_output=True)
        source_rate = MAIL_MESSAGES / (time.monotonic() - t0)

        backlog_dir = os.path.join(tmp, "backlog")
        import_rate = import_candidates(backlog_dir, BACKLOG, "backlog", zip_path)
        backlog_rate, backlog_samples, backlog_hwm = drain(backlog_dir, zip_path, sink_port,
                                                           BACKLOG)
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    tenth = max(1, len(backlog_samples) // 10)
    return {"hirestream": rate, "smtp_source": source_rate, "message_bytes": size,
            "peak_rss": max(max(samples), hwm), "backlog_rate": backlog_rate,
            "import_rate": import_rate, "backlog_hwm": backlog_hwm,
            "backlog_rss_first": max(backlog_samples[:tenth]),
            "backlog_rss_last": max(backlog_samples[-tenth:])}


def bench_growth(tmp, empty):
    """Item 6: GROWTH candidates stored (bulk-load), then item 1's ingest run again.
    Item 5: start-up to a served request with that database."""
    workdir = os.path.join(tmp, "growth")
    import_rate = import_candidates(workdir, GROWTH, "growth")
    hs = Hirestream(workdir, function_enabled=False)
    startup_ms, startup_rss = hs.ready_ms, rss_kib(hs.proc.pid)
    ingest = wrk(hs.url + "/candidates", "post_candidate.lua", [str(os.getpid()), API_KEY])
    peak_rss = rss_kib(hs.proc.pid, "VmHWM")
    hs.stop()
    db = os.path.join(workdir, "data", "hirestream.db")
    return {"ingest": ingest, "startup_ms": startup_ms, "startup_rss": startup_rss,
            "peak_rss": peak_rss, "import_rate": import_rate,
            "db_bytes": os.path.getsize(db), "rps_ratio": ingest["rps"] / empty["rps"],
            "p99_ratio": ingest["p99"] / empty["p99"]}


def bench_seed_stack(tmp):
    """Item 7: the seed's submit (bench/seed-stack/handler.js: validate, PutItem of the seed's
    fields with the AWS SDK) under serverless-offline (Serverless Framework v3), dynalite
    behind it; wrk as in item 1 after a warm-up run that starts the handler's workers."""
    dyn = Dynalite("candidates-dev")
    port, lambda_port = free_port(), free_port()
    env = dict(os.environ, DYNAMODB_ENDPOINT=dyn.url, SLS_TELEMETRY_DISABLED="1",
               SLS_NOTIFICATIONS_MODE="off", SLS_DEPRECATION_DISABLE="*",
               AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    sls = subprocess.Popen(
        ["node", os.path.join(HERE, "node_modules", "serverless", "bin", "serverless.js"),
         "offline", "start", "--httpPort", str(port), "--lambdaPort", str(lambda_port)],
        cwd=os.path.join(HERE, "seed-stack"), env=env, stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(tmp, "serverless-offline.log"), "ab"), start_new_session=True)
    try:
        wait_port(port, timeout=120)
        url = f"http://127.0.0.1:{port}/candidates"
        # A worker per concurrent request, started on first use: warm them all up first.
        wrk(url, "post_candidate.lua", ["warm", ""], duration=SEED_WARMUP, timeout=30)
        seed = wrk(url, "post_candidate.lua", [str(os.getpid()), ""], timeout=30)
    finally:
        os.killpg(sls.pid, 15)
        sls.wait(timeout=30)
        dyn.stop()
    return seed


def fmt_ms(v):
    return f"{v:.2f} ms"


def main():
    if not os.access(BINARY, os.X_OK):
        sys.exit(f"no hirestream binary at {BINARY}: build it first (scripts/build.sh)")
    host = machine()
    load_start, busy_start = load_average(), busy_processes()
    tmp = tempfile.mkdtemp(prefix="hirestream-bench-")
    try:
        ing = bench_ingest(tmp)
        pipe = bench_pipeline(tmp)
        mail = bench_mail(tmp)
        growth = bench_growth(tmp, ing["ingest"])
        seed = bench_seed_stack(tmp)
    finally:
        if os.environ.get("BENCH_KEEP_TMP"):
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    load_end = load_average()
    i, b, d, g = ing["ingest"], ing["bare"], ing["dynalite"], growth["ingest"]
    rows = [
        ("1. durable ingest, POST /candidates (wrk, 64 conn.)",
         f"{i['rps']:,.0f}/s, p50 {fmt_ms(i['p50'])}, p99 {fmt_ms(i['p99'])}",
         f"{i['rps'] / b['rps']:.2f} of bare HTTP; {i['rps'] / d['rps']:.1f}x dynalite",
         ">= 30,000/s, p99 < 10 ms; >= 0.6; >= 8x"),
        ("   bare-HTTP ceiling, GET /healthz, same server",
         f"{b['rps']:,.0f}/s, p99 {fmt_ms(b['p99'])}", "reference", ""),
        ("   dynalite PutItem (npm, the seed's fields)",
         f"{d['rps']:,.0f}/s, p99 {fmt_ms(d['p99'])}", "reference", ""),
        (f"2. pipeline, 201 -> SMTP 250, {PIPELINE_RATE:,}/s paced for {PIPELINE_SECONDS} s",
         f"p50 {fmt_ms(pipe['p50'])}, p99 {fmt_ms(pipe['p99'])}, max {fmt_ms(pipe['max'])} "
         f"({pipe['mailed']:,} of {pipe['posts']:,} mailed)",
         f"{pipe['p50'] / pipe['post_p50']:.1f}x / {pipe['p99'] / pipe['post_p99']:.1f}x the "
         f"POST's own p50 / p99 ({fmt_ms(pipe['post_p50'])} / {fmt_ms(pipe['post_p99'])})",
         "p50 < 2 ms, p99 < 10 ms"),
        ("3. assignment emails, 40 KiB zip, backlog drained to smtp-sink",
         f"{mail['hirestream']:,.0f}/s ({MAIL_MESSAGES:,} emails)",
         f"{mail['hirestream'] / mail['smtp_source']:.2f} of smtp-source "
         f"({mail['smtp_source']:,.0f}/s, {mail['message_bytes']:,} B messages)",
         ">= 0.8"),
        (f"4. backlog of {BACKLOG:,} imported with the function disabled, then drained",
         f"{mail['backlog_rate']:,.0f}/s; RSS {mail['backlog_rss_first'] / 1024:.1f} MiB in "
         f"the first tenth, {mail['backlog_rss_last'] / 1024:.1f} in the last",
         f"{mail['backlog_rate'] / mail['hirestream']:.2f} of item 3",
         ">= 0.8, memory flat"),
        ("5. RSS idle at start / idle after ingest",
         f"{ing['idle_rss'] / 1024:.1f} / {ing['after_rss'] / 1024:.1f} MiB", "", "<= 20 MiB"),
        ("5. RSS high-water: ingest / pipeline / mail / backlog / growth",
         f"{ing['peak_rss'] / 1024:.1f} / {pipe['peak_rss'] / 1024:.1f} / "
         f"{mail['peak_rss'] / 1024:.1f} / {mail['backlog_hwm'] / 1024:.1f} / "
         f"{growth['peak_rss'] / 1024:.1f} MiB", "", "<= 64 MiB"),
        (f"5. start-up to a served request, {GROWTH:,} candidates stored",
         f"{growth['startup_ms']:.0f} ms (RSS then {growth['startup_rss'] / 1024:.1f} MiB, "
         f"database {growth['db_bytes'] / 2**20:,.0f} MiB)", "",
         "< 200 ms with 1,000,000"),
        (f"6. ingest with {GROWTH:,} candidates stored",
         f"{g['rps']:,.0f}/s, p50 {fmt_ms(g['p50'])}, p99 {fmt_ms(g['p99'])}",
         f"{growth['rps_ratio']:.2f} of item 1's rate, {growth['p99_ratio']:.2f} of its p99",
         "rate >= 0.8, p99 <= 1.2 (10,000,000 stored)"),
        ("7. the seed's stack: serverless-offline + AWS SDK PutItem + dynalite",
         f"{seed['rps']:,.0f}/s, p50 {fmt_ms(seed['p50'])}, p99 {fmt_ms(seed['p99'])}",
         f"hirestream's ingest is {i['rps'] / max(seed['rps'], 1e-9):,.0f}x it",
         "measured as item 1"),
    ]
    notes = []
    for name, r in (("ingest", i), ("growth ingest", g), ("seed stack", seed)):
        if r["non2xx"] or r["socket_errors"]:
            notes.append(f"{name}: {r['non2xx']} non-2xx answers; {r['socket_errors']}")
    if pipe["posts"] < pipe["requested"] or pipe["mailed"] < pipe["posts"]:
        notes.append(f"pipeline: {pipe['requested']:,} POSTs sent, {pipe['posts']:,} answered "
                     f"201, {pipe['mailed']:,} of them reached the SMTP server")
    notes.append(f"after item 1's {DURATION} s: WAL {ing['wal_bytes'] / 2**20:,.0f} MiB, database "
                 f"{ing['db_bytes'] / 2**20:,.0f} MiB")
    notes.append(f"bulk-load stored {mail['import_rate']:,.0f}/s (backlog) and "
                 f"{growth['import_rate']:,.0f}/s (growth)")
    width = max(len(r[0]) for r in rows)
    lines = [f"{'benchmark':<{width}}  figure  |  ratio in the same run  |  target"]
    for r in rows:
        lines.append(f"{r[0]:<{width}}  {r[1]}  |  {r[2]}  |  {r[3]}")
    table = "\n".join(lines)
    print(table)
    for n in notes:
        print(n)
    contended = load_start > 0.5 or busy_start
    md = ["# Benchmark results\n"]
    if contended or os.environ.get("BENCH_NOTE"):
        md += [f"**{os.environ.get('BENCH_NOTE', 'Contended run')}.** Load average "
               f"{load_start:.2f} at the start, {load_end:.2f} at the end; other processes "
               f"busy at the start: {', '.join(busy_start) or 'none'}.\n"]
    else:
        md += [f"Quiet machine: load average {load_start:.2f} at the start, {load_end:.2f} at "
               f"the end; no other process busy at the start.\n"]
    md += [f"Command: `bench/run.sh`, {host['date']} (wrk {CONNECTIONS} connections, {DURATION} s "
           f"per run; item 2 {PIPELINE_RATE}/s for {PIPELINE_SECONDS} s; backlog {BACKLOG:,}, "
           f"growth {GROWTH:,}). The load generators run on the same cores as hirestream.\n",
           "| benchmark | figure | ratio in the same run | target |", "|---|---|---|---|"]
    md += [f"| {r[0].strip()} | {r[1]} | {r[2]} | {r[3]} |" for r in rows]
    md += ["", *[f"- {n}" for n in notes], "", "## Machine", "",
           *[f"- {c}" for c in host["cpu"]], f"- Kernel: {host['kernel']}",
           f"- Memory: {host['memory']}", ""]
    md += profile_notes()
    with open(os.path.join(HERE, "RESULTS.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(md) + "\n")


def profile_notes():
    """The hand-written part of RESULTS.md (from `## Profile` on) is kept across runs."""
    try:
        text = open(os.path.join(HERE, "RESULTS.md"), encoding="utf-8").read()
    except OSError:
        return []
    at = text.find("\n## Profile")
    return text[at + 1:].rstrip("\n").split("\n") if at >= 0 else []


if __name__ == "__main__":
    main()
