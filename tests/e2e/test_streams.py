"""PATCH and DELETE: their API answers, the change stream's records, and no extra mail."""

import re
import time
import uuid
from decimal import Decimal

import harness
from harness import assert_error

ARN_RE = re.compile(
    r"^arn:aws:dynamodb:us-east-1:000000000000:table/candidates-dev/stream/\S+$")


def _check_record_shape(rec, t0):
    assert re.fullmatch(r"[0-9a-f]{32}", rec["eventID"]), rec["eventID"]
    assert rec["eventName"] in ("INSERT", "MODIFY", "REMOVE"), rec
    assert rec["eventVersion"] == "1.1"
    assert rec["eventSource"] == "aws:dynamodb"
    assert rec["awsRegion"] == "us-east-1"
    assert ARN_RE.match(rec["eventSourceARN"]), rec["eventSourceARN"]
    ddb = rec["dynamodb"]
    ts = ddb["ApproximateCreationDateTime"]
    assert isinstance(ts, (int, float)) and not isinstance(ts, bool), ts
    assert t0 - 5 <= ts <= time.time() + 5, f"not epoch seconds: {ts}"
    assert re.fullmatch(r"[0-9]{21,40}", ddb["SequenceNumber"]), ddb["SequenceNumber"]
    assert isinstance(ddb["SizeBytes"], int) and ddb["SizeBytes"] >= 1, ddb["SizeBytes"]
    assert ddb["StreamViewType"] == "NEW_AND_OLD_IMAGES"


def _check_image(img, cid, *, fullname, email, skills, experience, evaluated, recruiter):
    assert img["id"] == {"S": cid}
    assert img["fullname"] == {"S": fullname}
    assert img["email"] == {"S": email}
    assert img["skills"] == {"S": skills}
    assert set(img["experience"]) == {"N"} and isinstance(img["experience"]["N"], str)
    assert Decimal(img["experience"]["N"]) == Decimal(experience), img["experience"]
    assert img["evaluated"] == {"BOOL": evaluated}
    assert img["recruiterEmail"] == {"S": recruiter}
    for key in ("submittedAt", "updatedAt"):
        assert set(img[key]) == {"N"} and re.fullmatch(r"[0-9]+", img[key]["N"]), img[key]


def test_patch_and_delete_make_modify_and_remove_records(launcher, smtp):
    """PATCH/DELETE answer per contract, stream INSERT->MODIFY->REMOVE, and mail nobody again."""
    hs = launcher.start(smtp_url=smtp.url)
    t0 = time.time()
    addr = f"stream-{uuid.uuid4().hex[:8]}@example.com"
    r = hs.post("/candidates", {"fullname": "Ada Lovelace", "email": addr, "skills": "java",
                                "experience": 5, "recruiterEmail": "recruiter@example.com"})
    assert r.status == 201, r
    cid = r.json["candidateId"]
    smtp.wait_messages(addr)
    created = hs.wait_delivery(cid, "SENT")
    assert created["recruiterEmail"] == "recruiter@example.com"

    # Rejected changes: nothing written.
    assert_error(hs.patch(f"/candidates/{cid}", {"id": str(uuid.uuid4())}), 400,
                 "invalid_argument", "id")
    assert_error(hs.patch(f"/candidates/{cid}", {"experience": -1}), 400,
                 "invalid_argument", "experience")
    assert_error(hs.patch(f"/candidates/{cid}", {"experience": "7"}), 400,
                 "invalid_argument", "experience")
    assert_error(hs.patch(f"/candidates/{cid}", {"email": "not-an-email"}), 400,
                 "invalid_argument", "email")
    assert_error(hs.patch(f"/candidates/{cid}", {"fullname": "Ada\r\nBcc: x@evil.example"}),
                 400, "invalid_argument", "fullname")
    assert_error(hs.patch(f"/candidates/{cid}", {"nickname": "ada"}), 400,
                 "invalid_argument", "nickname")
    missing = str(uuid.uuid4())
    assert_error(hs.patch(f"/candidates/{missing}", {"skills": "x"}), 404, "not_found")
    assert_error(hs.delete(f"/candidates/{missing}"), 404, "not_found")
    assert hs.candidate(cid)["skills"] == "java"

    # A real change.
    r = hs.patch(f"/candidates/{cid}", {"skills": "java, go", "evaluated": True})
    assert r.status == 200, r
    patched = r.json
    assert patched["id"] == cid and patched["skills"] == "java, go"
    assert patched["evaluated"] is True and patched["fullname"] == "Ada Lovelace"
    assert patched["submittedAt"] == created["submittedAt"]
    assert patched["updatedAt"] > created["updatedAt"], (patched, created)
    assert hs.candidate(cid)["skills"] == "java, go"

    r = hs.delete(f"/candidates/{cid}")
    assert r.status == 204, r
    assert r.body == b""
    assert_error(hs.get(f"/candidates/{cid}"), 404, "not_found")

    # The stream: all records in numeric sequence order, ours are INSERT, MODIFY, REMOVE.
    records = harness.wait_until(
        lambda: (lambda rs: rs if sum(x["dynamodb"]["Keys"] == {"id": {"S": cid}} for x in rs)
                 >= 3 else None)(hs.stream_records()),
        timeout=5, message="3 stream records for the candidate")
    seqs = [int(x["dynamodb"]["SequenceNumber"]) for x in records]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
    assert len({x["eventID"] for x in records}) == len(records)
    mine = [x for x in records if x["dynamodb"]["Keys"] == {"id": {"S": cid}}]
    assert [x["eventName"] for x in mine] == ["INSERT", "MODIFY", "REMOVE"], mine
    for rec in mine:
        _check_record_shape(rec, t0)
    assert len({x["eventSourceARN"] for x in mine}) == 1
    ins, mod, rem = (x["dynamodb"] for x in mine)

    assert "OldImage" not in ins
    _check_image(ins["NewImage"], cid, fullname="Ada Lovelace", email=addr, skills="java",
                 experience=5, evaluated=False, recruiter="recruiter@example.com")
    _check_image(mod["OldImage"], cid, fullname="Ada Lovelace", email=addr, skills="java",
                 experience=5, evaluated=False, recruiter="recruiter@example.com")
    _check_image(mod["NewImage"], cid, fullname="Ada Lovelace", email=addr, skills="java, go",
                 experience=5, evaluated=True, recruiter="recruiter@example.com")
    assert int(mod["NewImage"]["updatedAt"]["N"]) > int(mod["OldImage"]["updatedAt"]["N"])
    assert "NewImage" not in rem
    assert rem["OldImage"] == mod["NewImage"]

    # `after` and `limit`.
    after_insert = hs.get(f"/streams/{harness.TABLE}/records?after={ins['SequenceNumber']}")
    assert after_insert.status == 200, after_insert
    got = [x["dynamodb"]["SequenceNumber"] for x in after_insert.json["Records"]]
    assert ins["SequenceNumber"] not in got
    assert mod["SequenceNumber"] in got and rem["SequenceNumber"] in got
    assert all(int(s) > int(ins["SequenceNumber"]) for s in got)
    one = hs.get(f"/streams/{harness.TABLE}/records?limit=1")
    assert one.status == 200 and len(one.json["Records"]) == 1, one

    time.sleep(1.0)  # hold: neither change may trigger a mail
    assert smtp.count() == 1, [m["rcpt_tos"] for m in smtp.messages()]
