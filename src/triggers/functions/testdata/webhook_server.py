"""A webhook endpoint for webhook_function_test.cc.

Usage: webhook_server.py <record dir>
Listens on 127.0.0.1 (a free port), prints "READY <port>" and serves POSTs until killed. Before
answering, it saves each request as <record dir>/<X-Hirestream-Request-Id>.json:
{"path", "headers": {lower-cased name: value}, "body"}. The path picks the answer:
  /ok          200, empty body
  /partial     200, batchItemFailures naming the second record's SequenceNumber
  /fail        500, "boom\\nsecond line"
  /slow        sleeps 3 s, then 200
  /notjson     200, "hello"
  /retry       503 with Retry-After: 7
  /retry-date  503 with Retry-After: Date + 120 s (an HTTP-date)
  /retry-fixed 503 with Retry-After: Sun, 06 Nov 1994 08:49:37 GMT and no Date header
  /retry-long  429 with Retry-After: 999999
  /redirect    302 to /ok
  /big         200 with 7 MiB
"""
import email.utils
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, code, body=b"", headers=(), with_date=True):
        if with_date:
            self.send_response(code)
        else:
            self.send_response_only(code)
            self.send_header("Server", "test")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8")
        request_id = self.headers.get("X-Hirestream-Request-Id", "none")
        record = {
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
        }
        tmp = os.path.join(sys.argv[1], request_id + ".tmp")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.replace(tmp, os.path.join(sys.argv[1], request_id + ".json"))

        path = self.path.split("?")[0]
        if path == "/ok":
            self.answer(200)
        elif path == "/partial":
            second = json.loads(body)["Records"][1]["dynamodb"]["SequenceNumber"]
            answer = {"batchItemFailures": [{"itemIdentifier": second}]}
            self.answer(200, json.dumps(answer).encode(), [("Content-Type", "application/json")])
        elif path == "/fail":
            self.answer(500, b"boom\nsecond line")
        elif path == "/slow":
            time.sleep(3)
            self.answer(200)
        elif path == "/notjson":
            self.answer(200, b"hello")
        elif path == "/retry":
            self.answer(503, headers=[("Retry-After", "7")])
        elif path == "/retry-date":
            now = time.time()
            # Date and Retry-After from the same instant, so the delay is exactly 120 s.
            self.send_response_only(503)
            self.send_header("Date", email.utils.formatdate(now, usegmt=True))
            self.send_header("Retry-After", email.utils.formatdate(now + 120, usegmt=True))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/retry-fixed":
            self.answer(503, headers=[("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT")],
                        with_date=False)
        elif path == "/retry-long":
            self.answer(429, headers=[("Retry-After", "999999")])
        elif path == "/redirect":
            self.answer(302, headers=[("Location", "/ok")])
        elif path == "/big":
            self.answer(200, b"x" * (7 * 1024 * 1024))
        else:
            self.answer(404, b"no such path")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that time out or hang up are part of the tests


def main():
    server = Server(("127.0.0.1", 0), Handler)
    print("READY %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
