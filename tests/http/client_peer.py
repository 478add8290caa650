#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A small HTTP/1.1 server for the client tests (test_client_peer.c), on
Python's http.server: a peer that is not corio's own server.

Prints "port N" once listening on 127.0.0.1 (a free port), then serves
until killed. Paths:
  /                 "Hello from Python"
  /echo             the method, some request fields and the body back
                    (any method; Content-Length or chunked bodies)
  /redirect/N       302 to /redirect/N-1; /redirect/0 answers "done"
  /chunked/N        N chunks "chunk k\\n", chunked
  /big/K            K KiB of bytes (31 * i + 7) mod 256, Content-Length
  /sleep/MS         "slept" after MS milliseconds
  /endless          chunked 16 KiB chunks until the client goes
  /conn             the client's port
  /site/K           page K (0-29) of a small HTML site for the crawler
                    example: links to pages 2K+1 and 2K+2 in the three
                    forms (absolute, "/site/N", "N"), back to page 0, and
                    to what a crawler must not follow (mailto:, another
                    origin); page 0 also to /missing, /redirect/2 and
                    /sleep/2000
Usage: client_peer.py [--tls CERT KEY]
"""
import http.server
import socketserver
import ssl
import sys
import time


# Byte i of a big body is (31 * i + 7) mod 256: 64 KiB blocks repeat it.
BLOCK = bytes((31 * i + 7) & 0xFF for i in range(65536))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The head and the body go in separate writes: without this, Nagle's
    # algorithm and the client's delayed ACK hold the body back 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="text/plain", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n else b""

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def handle_any(self):
        path = self.path.split("?")[0]
        parts = path.strip("/").split("/")
        # Every request's body is read, whatever the path, so that the
        # next request on the connection starts where it should.
        body = self.read_body()
        if path == "/":
            return self.reply(200, b"Hello from Python")
        if path == "/echo":
            head = "method=%s\n" % self.command
            for name in ("X-Test", "Content-Type", "Transfer-Encoding",
                         "Authorization"):
                head += "%s=%s\n" % (name, self.headers.get(name, "-"))
            head += "length=%d\n\n" % len(body)
            return self.reply(200, head.encode() + body,
                              extra=[("X-Reply", "python")])
        if parts[0] == "redirect" and len(parts) == 2:
            n = int(parts[1])
            if n <= 0:
                return self.reply(200, b"done")
            return self.reply(302, b"moved",
                              extra=[("Location", "/redirect/%d" % (n - 1))])
        if parts[0] == "chunked" and len(parts) == 2:
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(int(parts[1])):
                self.chunk(b"chunk %d\n" % i)
            self.wfile.write(b"0\r\n\r\n")
            return None
        if parts[0] == "big" and len(parts) == 2:
            total = int(parts[1]) * 1024
            self.send_response(200)
            self.send_header("Content-Length", str(total))
            self.end_headers()
            while total:
                k = min(total, len(BLOCK))
                self.wfile.write(BLOCK[:k])
                total -= k
            return None
        if parts[0] == "sleep" and len(parts) == 2:
            time.sleep(int(parts[1]) / 1000)
            return self.reply(200, b"slept")
        if path == "/endless":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            block = b"e" * 16384
            try:
                while True:
                    self.chunk(block)
            except OSError:
                self.close_connection = True
            return None
        if parts[0] == "site" and len(parts) == 2:
            return self.site(int(parts[1]))
        if path == "/conn":
            return self.reply(200, str(self.client_address[1]).encode())
        return self.reply(404, b"not found")

    SITE_PAGES = 30

    def site(self, k):
        if not 0 <= k < self.SITE_PAGES:
            return self.reply(404, b"not found")
        here = "http://%s" % self.headers.get("Host", "127.0.0.1")
        links = ["/site/0#top", "mailto:crawler@example.invalid",
                 "http://example.invalid/site/1"]
        kids = [n for n in (2 * k + 1, 2 * k + 2) if n < self.SITE_PAGES]
        for i, n in enumerate(kids):
            links.append(("%s/site/%d" % (here, n), "/site/%d" % n,
                          "%d" % n)[(k + i) % 3])
        if k == 0:
            links += ["/missing", "/redirect/2", "/sleep/2000"]
        body = "<!doctype html>\n<title>page %d</title>\n" % k
        body += "".join('<p><a href="%s">%s</a></p>\n' % (u, u)
                        for u in links)
        return self.reply(200, body.encode(), ctype="text/html")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # A client that goes mid-answer (the cancellation and fault cases
        # do so on purpose) is no error worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 4 and sys.argv[1] == "--tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("port %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
