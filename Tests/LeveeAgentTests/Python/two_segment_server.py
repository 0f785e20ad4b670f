"""An HTTP/1.1 keep-alive upstream as Python's http.server makes one, for the proxy listener's tests.

Like any http.server app it writes the response head and the body in two writes without TCP_NODELAY,
so that a keep-alive client which does not ACK the head at once waits for Linux's delayed ACK
(about 40 ms) before the body comes. `/chunked` answers with a chunked body; `/echo` answers the
request body it read (chunked or not) with the request's transfer-encoding in `x-seen-te`.

Usage: two_segment_server.py PORT_FILE   (binds 127.0.0.1 on a free port and writes it there)
"""
import http.server
import os
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("content-length", "0")))

    def do_GET(self):
        self.answer(b"")

    def do_POST(self):
        self.answer(self.read_body())

    def answer(self, request_body):
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for part in (b"first;", b"second;", b"third"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        body = request_body if self.path == "/echo" else b"two segments"
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.send_header("x-seen-te", self.headers.get("transfer-encoding", ""))
        self.end_headers()  # the head goes out in one write...
        self.wfile.write(body)  # ...and the body in another


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as port_file:
    port_file.write(str(server.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
