#!/usr/bin/env python3
"""Decodes CloudEvents deliveries, as an HTTP receiver captured them, with the
CloudEvents Python SDK (cloudevents==1.11.0), an implementation independent of
ours.

Reads from stdin a JSON list of deliveries, each
    {"headers": {name: value}, "body": "<raw request body>"}
(headers may also be a list of [name, value] pairs; names are matched
case-insensitively). Each delivery must be structured mode:
  - Content-Type application/cloudevents+json: one event, decoded with
    cloudevents.http.from_http(headers, body);
  - Content-Type application/cloudevents-batch+json: a JSON array of events.
    The SDK has no batch support (1.11.0 knows no "batch" anywhere), so the
    array is parsed here and each element decoded with cloudevents.http.from_json.
Because the SDK silently fills in a missing id, time and specversion, the
required attributes (id, source, type, specversion) are checked on the raw
JSON first: each must be a non-empty string, and specversion must be "1.0".

Prints one JSON line
    {"events": [{"id", "source", "type", "subject", "specversion", "data"}, ...]}
in delivery order (subject is null when absent; data whose payload is not
JSON is given as "data_base64" with "data": null). Exits 1 with a message on
stderr if any delivery cannot be decoded or lacks a required attribute.

Usage: python3 scripts/check-delivered-cloudevents.py [--require ATTR]... < deliveries.json
  --require ATTR   also require this attribute (e.g. subject, time) on every event
"""
import argparse
import base64
import json
import sys

from cloudevents.http import from_http, from_json

SINGLE = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
REQUIRED = ("id", "source", "type", "specversion")


class Invalid(Exception):
    pass


def header_map(raw):
    if isinstance(raw, dict):
        pairs = raw.items()
    elif isinstance(raw, list):
        pairs = [tuple(pair) for pair in raw]
    else:
        raise Invalid(f"headers must be an object or a list of pairs, not {type(raw).__name__}")
    return {str(name).lower(): str(value) for name, value in pairs}


def check_raw(raw, extra):
    if not isinstance(raw, dict):
        raise Invalid(f"an event must be a JSON object, not {type(raw).__name__}")
    for name in REQUIRED + tuple(extra):
        value = raw.get(name)
        if not isinstance(value, str) or not value:
            raise Invalid(f"required attribute {name!r} missing or not a non-empty string: {value!r}")
    if raw["specversion"] != "1.0":
        raise Invalid(f"specversion is {raw['specversion']!r}, not '1.0'")


def summary(event):
    out = {name: event.get(name) for name in ("id", "source", "type", "subject", "specversion")}
    data = event.data
    if isinstance(data, (bytes, bytearray)):
        out["data"] = None
        out["data_base64"] = base64.b64encode(bytes(data)).decode("ascii")
    else:
        out["data"] = data
    return out


def decode(delivery, extra):
    if not isinstance(delivery, dict):
        raise Invalid("a delivery must be an object with headers and body")
    headers = header_map(delivery.get("headers") or {})
    body = delivery.get("body")
    if not isinstance(body, str) or not body:
        raise Invalid("no body")
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        raw = json.loads(body)
    except ValueError as error:
        raise Invalid(f"body is not JSON: {error}")
    if media_type == SINGLE:
        check_raw(raw, extra)
        return [summary(from_http(headers, body))]
    if media_type == BATCH:
        if not isinstance(raw, list) or not raw:
            raise Invalid("a batch must be a non-empty JSON array")
        events = []
        for index, element in enumerate(raw):
            try:
                check_raw(element, extra)
                events.append(summary(from_json(json.dumps(element))))
            except Invalid as error:
                raise Invalid(f"batch element {index}: {error}")
            except Exception as error:
                raise Invalid(f"batch element {index}: {type(error).__name__}: {error}")
        return events
    raise Invalid(f"not a structured-mode CloudEvents delivery: content-type {headers.get('content-type')!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--require", action="append", default=[], metavar="ATTR")
    args = parser.parse_args()
    try:
        deliveries = json.load(sys.stdin)
    except ValueError as error:
        print(f"stdin is not JSON: {error}", file=sys.stderr)
        return 1
    if not isinstance(deliveries, list) or not deliveries:
        print("stdin must be a non-empty JSON list of deliveries", file=sys.stderr)
        return 1
    events, failures = [], 0
    for index, delivery in enumerate(deliveries):
        try:
            events.extend(decode(delivery, args.require))
        except Exception as error:  # report every bad delivery, then fail
            failures += 1
            body = delivery.get("body") if isinstance(delivery, dict) else delivery
            print(f"delivery {index}: not a valid CloudEvents delivery: {type(error).__name__}: {error}: "
                  f"{str(body)[:300]}", file=sys.stderr)
    if failures:
        return 1
    print(json.dumps({"events": events}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
