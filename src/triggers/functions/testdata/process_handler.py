"""Process handlers for process_function_test.cc, one per mode: process_handler.py <mode>.

  echo       reads the event, prints {"records": <count>, "first_sequence": <SequenceNumber>}
  log        writes "line 1".."line 3" to stderr (then "no newline" without one), prints {}
  fail       writes "about to fail" to stderr, exits with status 3
  abort      calls os.abort() (SIGABRT)
  allocate   touches 300 MB in 10 MB steps, then sleeps 10 s
  flood      writes 1 MiB to stderr (1024 lines of 1023 bytes) before reading stdin, then
             prints the number of event bytes it read
  env        prints the environment variables the tests look at, as JSON
"""
import json
import os
import sys
import time

mode = sys.argv[1]
if mode == "echo":
    event = json.load(sys.stdin)
    records = event["Records"]
    print(json.dumps({"records": len(records),
                      "first_sequence": records[0]["dynamodb"]["SequenceNumber"]}))
elif mode == "log":
    sys.stdin.read()
    for i in range(1, 4):
        sys.stderr.write("line %d\n" % i)
        sys.stderr.flush()
    sys.stderr.write("no newline")
    print("{}")
elif mode == "fail":
    sys.stdin.read()
    sys.stderr.write("about to fail\n")
    sys.exit(3)
elif mode == "abort":
    os.abort()
elif mode == "allocate":
    blocks = []
    for _ in range(30):
        blocks.append(b"x" * (10 * 1024 * 1024))
    time.sleep(10)
elif mode == "flood":
    line = "e" * 1023 + "\n"
    for _ in range(1024):
        sys.stderr.write(line)
    sys.stderr.flush()
    data = sys.stdin.buffer.read()
    print(len(data))
elif mode == "env":
    sys.stdin.read()
    names = ["GREETING", "PATH", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
             "AWS_LAMBDA_FUNCTION_TIMEOUT", "AWS_REQUEST_ID", "AWS_REGION", "SECRET_OF_PARENT"]
    print(json.dumps({n: os.environ.get(n) for n in names}))
else:
    sys.exit("unknown mode " + mode)
