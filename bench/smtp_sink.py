#!/usr/bin/python3
"""A minimal SMTP sink that timestamps each message's acceptance (bench item 2).

Usage: smtp_sink.py PORT OUTFILE

Accepts every message; just before writing the 250 that ends a message's DATA it takes
CLOCK_MONOTONIC (the same clock on every process of the machine) and records it with the
message's recipients. On SIGTERM it writes one line per message to OUTFILE:
`<monotonic ns> <recipient>[ <recipient>...]`, then exits.
"""

import asyncio
import signal
import sys
import time

accepted = []  # (monotonic ns, [recipients])


async def session(reader, writer):
    writer.write(b"220 bench-sink ESMTP\r\n")
    recipients = []
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                writer.write(b"250-bench-sink\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
                             b"250 SIZE 104857600\r\n")
            elif verb == b"MAIL":
                recipients = []
                writer.write(b"250 2.1.0 Ok\r\n")
            elif verb == b"RCPT":
                text = line.decode("ascii", "replace")
                start, end = text.find("<"), text.find(">")
                recipients.append(text[start + 1:end].lower())
                writer.write(b"250 2.1.5 Ok\r\n")
            elif verb == b"DATA":
                writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                await writer.drain()
                await reader.readuntil(b"\r\n.\r\n")
                accepted.append((time.monotonic_ns(), recipients))
                recipients = []
                writer.write(b"250 2.0.0 Ok: queued\r\n")
            elif verb == b"RSET":
                recipients = []
                writer.write(b"250 2.0.0 Ok\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 2.0.0 Bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"250 2.0.0 Ok\r\n")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return
    finally:
        writer.close()


async def main(port, outfile):
    server = await asyncio.start_server(session, "127.0.0.1", port, limit=1 << 20)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with server:
        await stop
    with open(outfile, "w", encoding="ascii") as f:
        for t, rcpts in accepted:
            f.write(f"{t} {' '.join(rcpts)}\n")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
