"""A TCP proxy on 127.0.0.1 in front of a real SMTP server, for faults a server cannot be asked
to make: a connection dropped in the middle of DATA, and a server that accepts the connection
and never answers. Messages are still counted by the real server behind it.

Modes, each for the next `times` connections, then "pass":
  pass          forward both ways unchanged
  silent        accept, read what the client sends, never answer (until the proxy stops)
  drop_in_data  forward until the client has sent DATA and `after_bytes` bytes of the message,
                then close both sides: the server never sees the end of the message
"""

import socket
import threading


class FaultProxy:
    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self._lock = threading.Lock()
        self._mode, self._times, self._after_bytes = "pass", 0, 0
        self.connections = 0
        self.faulted = 0
        self.cuts = 0  # messages cut in the middle of DATA
        self._sockets = []
        self._stopping = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.url = f"smtp://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def set_mode(self, mode, times=1, after_bytes=0):
        assert mode in ("pass", "silent", "drop_in_data"), mode
        with self._lock:
            self._mode, self._times, self._after_bytes = mode, times, after_bytes

    def stop(self):
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                try:
                    s.close()
                except OSError:
                    pass

    def _next_mode(self):
        with self._lock:
            self.connections += 1
            if self._times > 0 and self._mode != "pass":
                self._times -= 1
                self.faulted += 1
                return self._mode, self._after_bytes
            return "pass", 0

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            mode, after = self._next_mode()
            with self._lock:
                self._sockets.append(client)
            threading.Thread(target=self._serve, args=(client, mode, after), daemon=True).start()

    def _serve(self, client, mode, after_bytes):
        if mode == "silent":
            client.settimeout(0.2)
            while not self._stopping.is_set():
                try:
                    if not client.recv(65536):
                        break
                except socket.timeout:
                    continue
                except OSError:
                    break
            client.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
        with self._lock:
            self._sockets.append(upstream)
        done = threading.Event()

        def close_both():
            done.set()
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

        def server_to_client():
            try:
                while not done.is_set():
                    data = upstream.recv(65536)
                    if not data:
                        break
                    client.sendall(data)
            except OSError:
                pass
            close_both()

        threading.Thread(target=server_to_client, daemon=True).start()
        seen = b""
        in_data, sent_in_data = False, 0
        try:
            while not done.is_set():
                data = client.recv(65536)
                if not data:
                    break
                if mode == "drop_in_data":
                    if not in_data:
                        seen = (seen + data)[-4096:]
                        if b"\r\nDATA\r\n" in b"\r\n" + seen:
                            in_data = True
                        upstream.sendall(data)
                        continue
                    take = data[:max(0, after_bytes - sent_in_data)]
                    upstream.sendall(take)
                    sent_in_data += len(take)
                    if sent_in_data >= after_bytes:
                        with self._lock:
                            self.cuts += 1
                        break  # cut in the middle of the message
                    continue
                upstream.sendall(data)
        except OSError:
            pass
        close_both()
