"""CSV import: POST /candidates:import and `hirestream import`. Each row meets the checks of
POST /candidates; failed rows come back by line, the valid ones are stored and mailed."""

import os
import re

import harness
from harness import assert_error, candidate_body

CSV = "text/csv"


def _import(hs, text, content_type=CSV):
    return hs.post("/candidates:import", raw=text.encode("utf-8"),
                   headers={"Content-Type": content_type})


def _emls(folder):
    return [f for f in os.listdir(folder) if f.endswith(".eml")] if os.path.isdir(folder) else []


def test_valid_rows_are_stored_and_mailed_and_bad_rows_are_named_by_line(launcher):
    """A file with good and bad rows: the good ones become candidates that get their email, each
    bad one is reported with its line and field, and nothing else is touched."""
    hs = launcher.start()
    assert hs.post("/candidates", candidate_body(email="taken@example.com")).status == 201
    text = ("\ufeffFullName,email,experience,skills,recruiterEmail\r\n"
            "Ada Lovelace,ada@example.com,12,\"c++, rust\",lead@example.com\r\n"   # line 2
            "No Mail,not-an-email,3,,\r\n"                                        # line 3
            "\"Multi\nLine\",multi@example.com,1,\"sql\",\r\n"                    # lines 4-5
            "Taken,taken@example.com,2,,\r\n"                                     # line 6
            "Twice,ada@example.com,2,,\r\n"                                       # line 7
            "Old,old@example.com,ninety,,\r\n"                                    # line 8
            "Short,short@example.com\r\n"                                         # line 9
            "\r\n"
            "Grace Hopper,grace@example.com,0,,\r\n")                        # line 11
    r = _import(hs, text)
    assert r.status == 200, r
    assert r.json["imported"] == 2
    assert r.json["failed"] == 6
    assert r.json["errorsOmitted"] == 0
    errors = {e["line"]: e for e in r.json["errors"]}
    assert sorted(errors) == [3, 4, 6, 7, 8, 9]
    assert errors[3]["field"] == "email"
    # A quoted line break parses, and then meets the same rule as in a POST: no control
    # characters in a name.
    assert errors[4]["field"] == "fullname"
    assert errors[6]["field"] == "email" and "already on file" in errors[6]["message"]
    assert errors[7]["field"] == "email"  # the same email twice in one file
    assert errors[8]["field"] == "experience"
    assert errors[9]["field"] is None and "2 fields" in errors[9]["message"]

    listed = {c["email"]: c for c in hs.get("/candidates?limit=100").json["candidates"]}
    assert set(listed) == {"taken@example.com", "ada@example.com", "grace@example.com"}
    ada = listed["ada@example.com"]
    assert ada["fullname"] == "Ada Lovelace" and ada["experience"] == 12
    assert ada["skills"] == "c++, rust" and ada["recruiterEmail"] == "lead@example.com"
    assert "skills" not in listed["grace@example.com"]  # an empty optional cell is absent
    # Mailed through the normal pipeline: one email per stored candidate.
    harness.wait_until(lambda: len(_emls(launcher.outbox_dir)) == 3, timeout=20,
                       message="3 emails in the outbox")
    for c in listed.values():
        hs.wait_delivery(c["id"], {"SENT"})


def test_a_malformed_file_is_refused_whole_and_stores_nothing(launcher):
    """Wrong type, unknown or missing columns and broken quoting are 400/415 naming what is
    wrong; no row of such a file is stored."""
    hs = launcher.start(function_enabled=False)
    assert_error(_import(hs, "fullname,email,experience\na,a@example.com,1\n",
                         content_type="application/json"), 415, "invalid_argument",
                 "Content-Type")
    assert_error(_import(hs, "fullname,email,experience,phone\na,a@example.com,1,5\n"), 400,
                 "invalid_argument", "header")
    assert_error(_import(hs, "fullname,experience\na,1\n"), 400, "invalid_argument", "email")
    assert_error(_import(hs, "fullname,email,email,experience\n"), 400, "invalid_argument",
                 "header")
    r = _import(hs, "fullname,email,experience\nok,ok@example.com,1\n\"open,x@example.com,1\n")
    assert_error(r, 400, "invalid_argument", "body")
    assert "line 3" in r.json["error"]["message"]
    assert_error(_import(hs, ""), 400, "invalid_argument", "body")
    assert hs.get("/candidates").json["candidates"] == []


def test_the_cli_imports_a_large_file_in_parts_and_reports_lines_of_the_file(launcher, tmp_path):
    """`hirestream import` sends a file larger than one part, stores every valid row, and names
    each failed row by its line in the file (a quoted line break counted), exiting 1."""
    hs = launcher.start(function_enabled=False)
    path = tmp_path / "candidates.csv"
    lines = ["fullname,email,experience,skills"]
    bad = []
    line = 2
    for i in range(5000):
        if i == 10:
            lines.append(f"\"Two\nLines {i}\",p{i}@example.com,3,java")  # a bad name
            bad.append((line, "fullname", "must not contain control characters (CR, LF, ...)"))
            line += 2
            continue
        if i in (2500, 4999):
            lines.append(f"Bad {i},p{i}-at-example.com,3,java")
            bad.append((line, "email", f"'p{i}-at-example.com' is not a valid email address"))
        else:
            lines.append(f"Person {i},p{i}@example.com,{i % 30},java")
        line += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = harness.base_env(HIRESTREAM_API_KEY=harness.ADMIN_KEY)
    done = harness.run_cli("import", str(path), "--config", hs.config_path, "--url", hs.url,
                           env=env, timeout=120)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stdout.splitlines() == [f"line {n}: {field}: {message}"
                                        for n, field, message in bad], done.stdout
    assert [n for n, _, _ in bad] == [12, 2503, 5002]
    assert "imported 4997 candidates" in done.stderr and "3 rows failed" in done.stderr
    metrics = hs.get("/metrics").body.decode()
    assert re.search(r'hirestream_table_writes_total\{table="[^"]+",event="INSERT"\} 4997\n',
                     metrics), metrics


def test_the_cli_refuses_a_broken_file_before_sending_anything(launcher, tmp_path):
    """Broken quoting anywhere in the file: nothing is sent, the error names the line."""
    hs = launcher.start(function_enabled=False)
    path = tmp_path / "broken.csv"
    path.write_text("fullname,email,experience\na,a@example.com,1\n\"b,b@example.com,2\n")
    done = harness.run_cli("import", str(path), "--config", hs.config_path, "--url", hs.url,
                           env=harness.base_env(HIRESTREAM_API_KEY=harness.ADMIN_KEY))
    assert done.returncode == 1
    assert "line 3: a quoted field is not closed" in done.stderr
    assert hs.get("/candidates").json["candidates"] == []


def test_the_cli_draws_a_progress_bar_on_a_terminal(launcher, tmp_path):
    """On a terminal `hirestream import` draws a bar that reaches 100% with the rows counted;
    piped (the test above) it prints only the summary."""
    import pty
    import subprocess

    hs = launcher.start(function_enabled=False)
    path = tmp_path / "candidates.csv"
    path.write_text("fullname,email,experience\n" +
                    "".join(f"P {i},bar{i}@example.com,3\n" for i in range(4500)))
    leader, follower = pty.openpty()
    try:
        done = subprocess.run([harness.BINARY, "import", str(path), "--config", hs.config_path,
                               "--url", hs.url],
                              env=harness.base_env(HIRESTREAM_API_KEY=harness.ADMIN_KEY),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower,
                              timeout=120)
        os.close(follower)
        follower = None
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal is closed once everything was read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)
    assert done.returncode == 0, drawn
    text = drawn.decode()
    frames = [f for f in text.split("\r") if f.startswith("[")]
    assert len(frames) >= 3, text  # drawn at the start and after each of the 3 parts
    assert "  0% 0/4500 rows" in frames[0], frames[0]
    assert "100% 4500/4500 rows, 0 failed" in frames[-1], frames[-1]
    assert "imported 4500 candidates" in text
