#!/usr/bin/env python3
"""A real HTTP upstream for the client tests (C, Python) and the Prometheus test.

    upstream.py PORT_FILE        listens on 127.0.0.1, an ephemeral port written to PORT_FILE

    GET  /ok            200 "hello from upstream", header x-upstream: real
    ANY  /flaky/KEY     503 the first time KEY is asked for, 200 "recovered" after
    ANY  /fail          503 "sick"
    ANY  /slow/MS       200 after MS milliseconds
    ANY  /echo          200, the request's body, method in x-method and x-client echoed
"""
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

seen = {}
lock = threading.Lock()


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0]
        if path == "/ok":
            self.answer(200, b"hello from upstream", {"x-upstream": "real"})
        elif path.startswith("/flaky/"):
            with lock:
                count = seen.get(path, 0) + 1
                seen[path] = count
            if count == 1:
                self.answer(503, b"not yet")
            else:
                self.answer(200, b"recovered")
        elif path == "/fail":
            self.answer(503, b"sick")
        elif path.startswith("/slow/"):
            time.sleep(int(path.rsplit("/", 1)[1]) / 1000)
            self.answer(200, b"slow")
        elif path == "/echo":
            self.answer(200, body, {"x-method": self.command, "x-client": self.headers.get("x-client", "")})
        else:
            self.answer(404, b"no such path")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    server.daemon_threads = True
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os

    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
