#!/usr/bin/env python3
"""A webhook endpoint for trying RegistryEvents: it answers every request and
writes it to a log, one JSON line per request.

    python3 scripts/demo-receiver.py --port 18081 --log /tmp/receiver.log --detach

What it answers, by path:
  /fail...    503 Service Unavailable (a failing endpoint: retries, dead letters)
  /reject...  400 Bad Request (a refusing endpoint: dead-lettered at once)
  /refuse...  403 Forbidden to everything, the validation handshakes included
              (a subscription to it fails its validation)
  /manual...  200, but it does not answer Event Grid's validation handshake,
              so the subscription waits for manual validation (and it gives
              no consent to a CloudEvents OPTIONS handshake)
  anything else  200 "ok".
Event Grid's validation event (aeg-event-type: SubscriptionValidation) is
answered with its code, and a CloudEvents OPTIONS handshake with consent, on
every path but /manual... and /refuse...: so a subscription to /fail... or
/reject... is created, and its deliveries then fail.

Each log line: {"method", "path", "headers", "body"} (the body parsed when it
is JSON). With --detach it returns once it listens and keeps running in the
background; stop it with `pkill -f demo-receiver`.
"""
import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    log_lock = threading.Lock()
    log_path = None

    def do_OPTIONS(self):
        self.record(b"")
        if self.path.startswith("/refuse"):
            return self.answer(403, b"forbidden")
        origin = self.headers.get("WebHook-Request-Origin")
        self.send_response(200)
        if origin and not self.path.startswith("/manual"):
            self.send_header("WebHook-Allowed-Origin", origin)
            self.send_header("WebHook-Allowed-Rate", "*")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.record(body)
        if self.path.startswith("/refuse"):
            return self.answer(403, b"forbidden")
        code = self.validation_code(body)
        if code is not None and not self.path.startswith("/manual"):
            return self.answer(200, json.dumps({"validationResponse": code}).encode(), "application/json")
        if self.path.startswith("/fail"):
            return self.answer(503, b"unavailable")
        if self.path.startswith("/reject"):
            return self.answer(400, b"rejected")
        self.answer(200, b"ok")

    do_PUT = do_POST

    def validation_code(self, body):
        if self.headers.get("aeg-event-type") != "SubscriptionValidation":
            return None
        try:
            events = json.loads(body)
            return events[0]["data"]["validationCode"]
        except (ValueError, LookupError, TypeError):
            return None

    def answer(self, status, body, content_type="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def record(self, body):
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        line = json.dumps({
            "method": self.command, "path": self.path,
            "headers": {name: value for name, value in self.headers.items()}, "body": parsed,
        })
        with self.log_lock, open(self.log_path, "a") as log:
            log.write(line + "\n")

    def log_message(self, *arguments):
        pass  # the JSON log is the record


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True, help="file that gets one JSON line per request")
    parser.add_argument("--detach", action="store_true", help="run in the background once listening")
    options = parser.parse_args()
    Handler.log_path = options.log
    open(options.log, "w").close()
    server = ThreadingHTTPServer(("127.0.0.1", options.port), Handler)
    print(f"receiving on http://127.0.0.1:{options.port}, logging to {options.log}", flush=True)
    if options.detach and os.fork() > 0:
        return
    if options.detach:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for descriptor in (0, 1, 2):
            os.dup2(devnull, descriptor)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
