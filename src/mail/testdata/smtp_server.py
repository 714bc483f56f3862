"""A real SMTP server on loopback for mail_test, with fault switches.

Run with /usr/bin/python3 (Debian's python3-aiosmtpd imports only there):

  smtp_server.py --dir DIR [--port N] [--silent] [--no-pipelining] [--drop-reused]
                 [--tls starttls|implicit --cert PEM --key PEM] [--auth USER:PASSWORD]

Prints "READY <port>" on stdout once listening (--port 0, the default, picks a free port), then
runs until SIGTERM or SIGINT and exits 0.

Each accepted message is stored as DIR/<seq>-<peer port>.eml (exactly the DATA received) with a
DIR/<seq>-<peer port>.env beside it ("mail_from X", "rcpt X", "peer_port N", "tls 0|1",
"auth USER" lines); the .eml is renamed into place after the .env is written, so a reader that
sees it sees both complete. The peer port tells which client connection carried the message.

Faults: RCPT TO an address starting with "bad" gets 550 5.1.1, one starting with "busy" gets
451 4.3.0. --silent accepts TCP connections and never says a word (no greeting), for timeouts.
--drop-reused closes a connection, without a reply, at the second MAIL FROM on it (a relay that
dropped an idle connection just as the client reused it).

EHLO offers PIPELINING (RFC 2920; aiosmtpd reads commands in order, so pipelined ones work);
--no-pipelining leaves it out, so the client must send one command at a time.
"""

import argparse
import itertools
import logging
import os
import signal
import socket
import ssl
import sys
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, folder, pipelining, drop_reused):
        self.folder = folder
        self.sequence = itertools.count(1)
        self.lock = threading.Lock()
        self.pipelining = pipelining
        self.drop_reused = drop_reused

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # The new-style hook replaces aiosmtpd's own bookkeeping of the name.
        session.host_name = hostname
        if self.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        session.hs_transactions = getattr(session, "hs_transactions", 0) + 1
        if self.drop_reused and session.hs_transactions == 2:
            server.transport.abort()
            return "421 4.4.2 gone"  # never reaches the client: the connection is closed
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bad"):
            return "550 5.1.1 mailbox unavailable"
        if address.startswith("busy"):
            return "451 4.3.0 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            seq = next(self.sequence)
        base = os.path.join(self.folder, f"{seq:06d}-{session.peer[1]}")
        lines = [f"mail_from {envelope.mail_from}"]
        lines += [f"rcpt {r}" for r in envelope.rcpt_tos]
        lines.append(f"peer_port {session.peer[1]}")
        # session.ssl is set by STARTTLS only; implicit TLS shows on the transport.
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        lines.append(f"tls {1 if tls else 0}")
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            lines.append(f"auth {session.auth_data.login.decode()}")
            lines.append(f"auth_mechanism {getattr(session, 'hs_mechanism', '?')}")
        with open(base + ".env", "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(base + ".eml.part", "wb") as f:
            f.write(envelope.original_content)
        os.replace(base + ".eml.part", base + ".eml")
        return f"250 2.0.0 Ok: queued as {seq}"


class Authenticator:
    def __init__(self, user, password):
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == self.user
              and auth_data.password == self.password)
        session.hs_mechanism = mechanism
        # handled=False: aiosmtpd itself replies 235 or 535 (handled=True would mean we had
        # replied, and a failed AUTH would then hang without an answer).
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class BoundController(Controller):
    """A Controller that serves on an already bound socket, so port 0 works."""

    def __init__(self, handler, sock, **kwargs):
        super().__init__(handler, hostname="127.0.0.1", port=sock.getsockname()[1], **kwargs)
        self._sock = sock

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._sock,
                                       ssl=self.ssl_context)


def bind(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    return sock


def serve_silent(sock):
    """Accepts connections and holds them open without ever sending a byte."""
    held = []

    def accept():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return lambda: sock.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--silent", action="store_true")
    parser.add_argument("--no-pipelining", action="store_true")
    parser.add_argument("--drop-reused", action="store_true")
    parser.add_argument("--tls", choices=["starttls", "implicit"])
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--auth")
    args = parser.parse_args()

    # Keep the test's output clean: aiosmtpd warns about AUTH without TLS and logs each session.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)

    # Block SIGTERM/SIGINT before any thread starts, so every thread inherits the mask and the
    # signal waits for sigwait below: otherwise the default action kills the process (status
    # 143) before the controller can stop.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)

    sock = bind(args.port)
    port = sock.getsockname()[1]
    if args.silent:
        stop = serve_silent(sock)
    else:
        kwargs = {"server_hostname": "smtp.test"}
        if args.tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(args.cert, args.key)
            if args.tls == "starttls":
                kwargs.update(tls_context=context, require_starttls=True)
            else:
                kwargs.update(ssl_context=context)
        if args.auth:
            user, _, password = args.auth.partition(":")
            kwargs.update(authenticator=Authenticator(user, password),
                          auth_require_tls=bool(args.tls), auth_required=True)
        controller = BoundController(Handler(args.dir, not args.no_pipelining, args.drop_reused), sock, **kwargs)
        controller.start()
        stop = controller.stop

    print(f"READY {port}", flush=True)
    signal.sigwait(stop_signals)
    stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
