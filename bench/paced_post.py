#!/usr/bin/python3
"""An open-loop, paced load generator for POST /candidates (bench item 2).

Usage: paced_post.py PORT RATE SECONDS API_KEY RUN_ID OUTFILE

Request i is due at start + i/RATE whatever happened to the earlier ones (no coordinated
omission): it takes an idle keep-alive connection, or opens one when none is idle. Each
candidate has a unique email. Writes one line per request to OUTFILE:
`<email> <status> <sent monotonic ns> <answered monotonic ns>`, the times of CLOCK_MONOTONIC
(the clock the SMTP sink stamps its 250 with).
"""

import asyncio
import sys
import time


async def post(conn, port, api_key, email, experience):
    reader, writer = conn
    body = (f'{{"fullname":"Pipeline Candidate","email":"{email}","skills":"java",'
            f'"experience":{experience}}}').encode()
    writer.write(b"POST /candidates HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                 b"Content-Type: application/json\r\nx-api-key: %s\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (port, api_key.encode(), len(body), body))
    head = await reader.readuntil(b"\r\n\r\n")
    answered = time.monotonic_ns()
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status, answered


async def main(port, rate, seconds, api_key, run_id, outfile):
    idle = []
    results = []
    tasks = []

    async def one(i):
        conn = idle.pop() if idle else await asyncio.open_connection("127.0.0.1", port)
        email = f"p{run_id}-{i}@example.com"
        sent = time.monotonic_ns()
        try:
            status, answered = await post(conn, port, api_key, email, i % 12)
        except (ConnectionError, asyncio.IncompleteReadError) as e:
            results.append((email, 0, sent, time.monotonic_ns()))
            print(f"request {i}: {e}", file=sys.stderr)
            return
        results.append((email, status, sent, answered))
        idle.append(conn)

    loop = asyncio.get_running_loop()
    start = loop.time()
    total = int(rate * seconds)
    for i in range(total):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    late = loop.time() - (start + seconds)
    with open(outfile, "w", encoding="ascii") as f:
        for email, status, sent, answered in results:
            f.write(f"{email} {status} {sent} {answered}\n")
    print(f"{total} requests in {seconds} s; last answer {late * 1000:.0f} ms after the schedule's end",
          file=sys.stderr)


if __name__ == "__main__":
    a = sys.argv
    asyncio.run(main(int(a[1]), float(a[2]), float(a[3]), a[4], a[5], a[6]))
