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
import urllib.request
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BINARY = os.environ.get("HIRESTREAM_BIN", os.path.join(REPO, "build", "hirestream"))
DURATION = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = 64
MAIL_MESSAGES = int(os.environ.get("BENCH_MAIL_MESSAGES", "2000"))
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
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def wrk(url, script=None, args=(), duration=DURATION):
    cmd = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency"]
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


class Hirestream:
    def __init__(self, workdir, *, function_enabled, smtp_url="", assignment_zip=None):
        self.workdir = workdir
        self.port = free_port()
        os.makedirs(workdir, exist_ok=True)
        config = open(os.path.join(REPO, "config", "hirestream.yaml"), encoding="utf-8").read()
        config = config.replace("../assignments/", os.path.join(REPO, "assignments") + "/")
        if not function_enabled:
            config = config.replace("          enabled: true", "          enabled: false")
        if assignment_zip:
            for n in (1, 2, 3):
                config = config.replace(f"../assignments/assignment{n}.zip", assignment_zip)
        path = os.path.join(workdir, "hirestream.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(config)
        env = dict(os.environ, HIRESTREAM_LISTEN=f"127.0.0.1:{self.port}",
                   HIRESTREAM_DATA=os.path.join(workdir, "data"),
                   HIRESTREAM_OUTBOX=os.path.join(workdir, "outbox"),
                   HIRESTREAM_LOG_LEVEL="warn", HIRESTREAM_PUBLIC_URL="http://127.0.0.1",
                   HIRESTREAM_ADMIN_KEY=API_KEY)
        env.pop("HIRESTREAM_SMTP_URL", None)
        if smtp_url:
            env["HIRESTREAM_SMTP_URL"] = smtp_url
        self.started = time.monotonic()
        self.proc = subprocess.Popen([BINARY, "serve", "--config", path], env=env,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(workdir, "stderr.log"), "ab"))
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready_ms = self._wait_ready()

    def _wait_ready(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status, _ = http("GET", self.url + "/healthz", timeout=1)
                if status == 200:
                    return (time.monotonic() - self.started) * 1000
            except OSError:
                time.sleep(0.002)
        raise RuntimeError("hirestream did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{model}, {os.cpu_count()} cores, {mem:.0f} GiB, Linux {platform.release()}, "
            f"{datetime.date.today().isoformat()}")


def make_zip(size):
    """A zip of about `size` bytes of incompressible data (a 40 KiB assignment)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("assignment/README.md", os.urandom(size - 200))
    return buf.getvalue()


def bench_ingest(tmp):
    """Item 1: durable ingest, function disabled; bare-HTTP ceiling; dynalite's PutItem."""
    hs = Hirestream(os.path.join(tmp, "ingest"), function_enabled=False)
    idle_rss = rss_kib(hs.proc.pid)
    ingest = wrk(hs.url + "/candidates", "post_candidate.lua", [str(os.getpid()), API_KEY])
    bare = wrk(hs.url + "/healthz")
    peak_rss = rss_kib(hs.proc.pid, "VmHWM")
    status, body = http("GET", hs.url + "/metrics")
    stored = sum(float(v) for v in re.findall(
        r'^hirestream_table_writes_total\{[^}]*event="INSERT"[^}]*\} ([\d.e+]+)$',
        body.decode(), re.M))
    hs.stop()
    hs2 = Hirestream(os.path.join(tmp, "ingest"), function_enabled=False)
    restart_ms = hs2.ready_ms
    restart_rss = rss_kib(hs2.proc.pid)
    hs2.stop()

    port = free_port()
    dyn = subprocess.Popen(["node", os.path.join(HERE, "node_modules", "dynalite", "cli.js"),
                            "--port", str(port), "--createTableMs", "0"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        headers = {"Content-Type": "application/x-amz-json-1.0",
                   "X-Amz-Target": "DynamoDB_20120810.CreateTable",
                   "X-Amz-Date": "20261203T000000Z",
                   "Authorization": "AWS4-HMAC-SHA256 Credential=bench/20261203/us-east-1/"
                                    "dynamodb/aws4_request, SignedHeaders=host, Signature=0"}
        http("POST", f"http://127.0.0.1:{port}/", {
            "TableName": "candidates",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"}, headers=headers)
        time.sleep(0.2)
        dynalite = wrk(f"http://127.0.0.1:{port}/", "put_item.lua")
    finally:
        dyn.terminate()
        dyn.wait(timeout=10)
    return {"ingest": ingest, "bare": bare, "dynalite": dynalite, "idle_rss": idle_rss,
            "peak_rss": peak_rss, "stored": int(stored), "restart_ms": restart_ms,
            "restart_rss": restart_rss}


def bench_mail(tmp):
    """Items 3 and 4 (scaled): a backlog of assignment emails with a 40 KiB zip, drained to
    postfix's smtp-sink, against smtp-source's own rate to the same sink with the same size."""
    sink_port = free_port()
    sink = subprocess.Popen(["/usr/sbin/smtp-sink", "-c", "-u", "nobody",
                             f"127.0.0.1:{sink_port}", "256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(sink_port)
        zip_path = os.path.join(tmp, "assignment-40k.zip")
        with open(zip_path, "wb") as f:
            f.write(make_zip(40 * 1024))
        hs = Hirestream(os.path.join(tmp, "mail"), function_enabled=False,
                        smtp_url=f"smtp://127.0.0.1:{sink_port}?tls=none",
                        assignment_zip=zip_path)
        for i in range(MAIL_MESSAGES):
            http("POST", hs.url + "/candidates",
                 {"fullname": "Mail Bench", "email": f"m{i}@example.com", "skills": "c",
                  "experience": i % 12})
        started = time.monotonic()
        http("PATCH", hs.url + "/functions/sendAssignment", {"enabled": True})
        peak = 0
        while True:
            _, body = http("GET", hs.url + "/metrics")
            sent = re.search(r'^hirestream_mail_deliveries_total\{outcome="sent"\} ([\d.e+]+)$',
                             body.decode(), re.M)
            peak = max(peak, rss_kib(hs.proc.pid))
            if sent and float(sent.group(1)) >= MAIL_MESSAGES:
                break
            if time.monotonic() - started > 600:
                raise RuntimeError("the backlog did not drain in 10 minutes")
            time.sleep(0.05)
        hirestream_rate = MAIL_MESSAGES / (time.monotonic() - started)
        hwm = rss_kib(hs.proc.pid, "VmHWM")
        hs.stop()
        # smtp-source: same sink, 2 sessions (hirestream's poolSize), same message size.
        size = len(open(zip_path, "rb").read()) * 4 // 3 + 1500  # base64 + headers and text
        t0 = time.monotonic()
        subprocess.run(["/usr/sbin/smtp-source", "-s", "2", "-m", str(MAIL_MESSAGES), "-l",
                        str(size), "-f", "hiring@example.com", "-t", "bench@example.com",
                        f"127.0.0.1:{sink_port}"], check=True, capture_output=True)
        source_rate = MAIL_MESSAGES / (time.monotonic() - t0)
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    return {"hirestream": hirestream_rate, "smtp_source": source_rate, "message_bytes": size,
            "peak_rss": max(peak, hwm)}


def main():
    if not os.access(BINARY, os.X_OK):
        sys.exit(f"no hirestream binary at {BINARY}: build it first (scripts/build.sh)")
    tmp = tempfile.mkdtemp(prefix="hirestream-bench-")
    try:
        ing = bench_ingest(tmp)
        mail = bench_mail(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    i, b, d = ing["ingest"], ing["bare"], ing["dynalite"]
    rows = [
        ("1. durable ingest, POST /candidates (wrk, 64 conn.)",
         f"{i['rps']:,.0f}/s, p50 {i['p50']:.2f} ms, p99 {i['p99']:.2f} ms",
         f"{i['rps'] / b['rps']:.2f} of bare HTTP; {i['rps'] / d['rps']:.1f}x dynalite",
         ">= 30,000/s, p99 < 10 ms; >= 0.6; >= 8x"),
        ("   bare-HTTP ceiling, GET /healthz, same server",
         f"{b['rps']:,.0f}/s, p99 {b['p99']:.2f} ms", "reference", ""),
        ("   dynalite PutItem (npm, the seed's fields)",
         f"{d['rps']:,.0f}/s, p99 {d['p99']:.2f} ms", "reference", ""),
        ("3-4. assignment emails, 40 KiB zip, backlog drained to smtp-sink",
         f"{mail['hirestream']:,.0f}/s ({MAIL_MESSAGES} emails)",
         f"{mail['hirestream'] / mail['smtp_source']:.2f} of smtp-source "
         f"({mail['smtp_source']:,.0f}/s, {mail['message_bytes']:,} B messages)",
         ">= 0.8"),
        ("5. RSS idle / under ingest / draining mail",
         f"{ing['idle_rss'] / 1024:.1f} / {ing['peak_rss'] / 1024:.1f} / "
         f"{mail['peak_rss'] / 1024:.1f} MiB", "", "<= 20 / 64 / 64 MiB"),
        (f"5. start-up to a served request, {ing['stored']:,} candidates stored",
         f"{ing['restart_ms']:.0f} ms (RSS after {ing['restart_rss'] / 1024:.1f} MiB)", "",
         "< 200 ms with 1,000,000"),
    ]
    notes = []
    if i["non2xx"] or i["socket_errors"]:
        notes.append(f"ingest: {i['non2xx']} non-2xx answers; {i['socket_errors']}")
    width = max(len(r[0]) for r in rows)
    lines = [f"{'benchmark':<{width}}  figure  |  ratio in the same run  |  target"]
    for r in rows:
        lines.append(f"{r[0]:<{width}}  {r[1]}  |  {r[2]}  |  {r[3]}")
    table = "\n".join(lines)
    print(table)
    for n in notes:
        print(n)
    md = [f"# Benchmark results\n", f"Machine: {machine()}. Load generator on the same cores.",
          f"Command: `bench/run.sh` (wrk {CONNECTIONS} connections, {DURATION} s per run).\n",
          "| benchmark | figure | ratio in the same run | target |", "|---|---|---|---|"]
    md += [f"| {r[0].strip()} | {r[1]} | {r[2]} | {r[3]} |" for r in rows]
    md += ["", *notes]
    with open(os.path.join(HERE, "RESULTS.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
