#!/usr/bin/env python3
"""A small CGI-capable HTTP server in front of `git http-backend`, for the
gitops tests: git over HTTP with a token (HTTP Basic auth, the token as the
password; 401 without it). Usage: http_git.py PORT PROJECT_ROOT TOKEN_FILE"""
import base64
import http.server
import os
import subprocess
import sys

PORT, ROOT, TOKEN_FILE = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def read_body(handler):
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                handler.rfile.readline()
                return body
            body += handler.rfile.read(size)
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


class Git(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def authorized(self):
        token = open(TOKEN_FILE).read().strip()
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        return user if password == token else None

    def serve(self):
        body = read_body(self) if self.command == "POST" else b""
        user = self.authorized()
        if user is None:
            # An empty body: libgit2 1.5 asks again on the same connection
            # without reading a 401's body.
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        env = dict(os.environ, GIT_PROJECT_ROOT=ROOT, GIT_HTTP_EXPORT_ALL="1", PATH_INFO=path, QUERY_STRING=query,
                   REQUEST_METHOD=self.command, CONTENT_TYPE=self.headers.get("Content-Type", ""),
                   CONTENT_LENGTH=str(len(body)), REMOTE_USER=user, REMOTE_ADDR="127.0.0.1")
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        # The headers end at the first blank line (\r\n or \n); the pack after
        # it may hold either sequence.
        cuts = [(out.find(sep), sep) for sep in (b"\r\n\r\n", b"\n\n") if out.find(sep) >= 0]
        at, sep = min(cuts) if cuts else (len(out), b"")
        head, payload = out[:at], out[at + len(sep):]
        status = 200
        headers = []
        for line in head.replace(b"\r\n", b"\n").split(b"\n"):
            key, _, value = line.decode().partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = serve
    do_POST = serve

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Git).serve_forever()
