"""`hirestream bulk-load`: what it stores is what POST /candidates would store."""

import json

import harness


def test_import_stores_what_the_api_stores_and_the_function_mails_it(launcher, tmp_path):
    """Imported candidates have the API's item shape and INSERT records, are mailed once the
    server runs again; invalid lines and taken emails are refused by number; a running server's
    data folder is refused."""
    hs = launcher.start(function_enabled=False)
    via_api = hs.post("/candidates", {"fullname": "Api Person", "email": "api@example.com",
                                      "skills": "go", "experience": 3})
    assert via_api.status == 201, via_api
    lines = tmp_path / "candidates.jsonl"
    lines.write_text("\n".join([
        json.dumps({"fullname": "Ada Import", "email": "Ada@Example.com", "skills": "c",
                    "experience": 2}),
        json.dumps({"fullname": "Bo Import", "email": "bo@example.com", "experience": 12,
                    "recruiterEmail": "r@example.com"}),
        json.dumps({"fullname": "No Email", "experience": 1}),
        json.dumps({"fullname": "Taken", "email": "api@example.com", "experience": 1}),
    ]) + "\n")
    env = harness.base_env(HIRESTREAM_DATA=launcher.data_dir)
    refused = harness.run_cli("bulk-load", "--path", str(lines), "--config",
                              hs.config_path, env=env)
    assert refused.returncode == 1 and "stop it first" in refused.stderr, refused.stderr
    api_item = hs.candidate(via_api.json["candidateId"])
    hs.terminate()

    imported = harness.run_cli("bulk-load", "--path", str(lines), "--config",
                               hs.config_path, env=env)
    assert imported.returncode == 1, imported.stderr
    assert "line 3: email: is required" in imported.stderr, imported.stderr
    assert "line 4: email:" in imported.stderr, imported.stderr
    assert "imported 2 candidates" in imported.stderr, imported.stderr

    hs = launcher.start(function_enabled=True, data_dir=launcher.data_dir)
    listed = hs.get("/candidates?limit=10").json["candidates"]
    by_email = {c["email"]: c for c in listed}
    assert set(by_email) == {"api@example.com", "ada@example.com", "bo@example.com"}
    ada = hs.candidate(by_email["ada@example.com"]["id"])
    assert set(ada) == set(api_item), (ada, api_item)
    assert ada["evaluated"] is False and ada["submittedAt"] == ada["updatedAt"]
    inserts = [r for r in hs.stream_records() if r["eventName"] == "INSERT"]
    assert len(inserts) == 3
    images = {r["dynamodb"]["NewImage"]["email"]["S"]: r["dynamodb"]["NewImage"] for r in inserts}
    assert set(images["ada@example.com"]) == set(images["api@example.com"])
    assert images["bo@example.com"]["recruiterEmail"] == {"S": "r@example.com"}
    for email in ("ada@example.com", "bo@example.com"):
        hs.wait_delivery(by_email[email]["id"], "SENT")
