#!/usr/bin/env python3
"""Serves web/ on 127.0.0.1 (a secure context, so the page gets WebGPU), with the
wasm MIME type that streaming compilation needs. With --uploads DIR it also keeps
what the page POSTs to /upload/NAME in DIR/NAME and serves DIR at /uploads/: the
end-to-end test reads the page's results and hands it checkpoints that way."""

import argparse
import functools
import http.server
import os
import re
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    uploads = None
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".js": "text/javascript",
    }

    def translate_path(self, path):
        if self.uploads and path.startswith("/uploads/"):
            return os.path.join(self.uploads, os.path.basename(path.split("?")[0]))
        return super().translate_path(path)

    def do_POST(self):
        name = self.path[len("/upload/"):] if self.path.startswith("/upload/") else ""
        if not self.uploads or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            self.send_error(404, "uploads are off, or the name is not plain")
            return
        length = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(length)
        tmp = os.path.join(self.uploads, f".{name}.part")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(self.uploads, name))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format, *args):
        if os.environ.get("DUEL_SERVE_QUIET") != "1":
            super().log_message(format, *args)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--root", required=True, help="the directory to serve (web/)")
    parser.add_argument("--uploads", help="keep the page's POSTs here")
    args = parser.parse_args()
    Handler.uploads = args.uploads
    handler = functools.partial(Handler, directory=args.root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    print(f"serving http://127.0.0.1:{server.server_port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
