#!/usr/bin/env python3
"""Reads Kafka records as `kcat -C -J` prints them (one JSON object per line)
and decodes each with the CloudEvents Python SDK's Kafka binding, an
implementation independent of ours. Structured or binary mode is chosen as the
binding says: a content-type starting with application/cloudevents means
structured. Prints one JSON line per event with its attributes and data, and
exits 1 if any record is not a valid CloudEvent.

Usage: kcat -C -b BROKER -t TOPIC -e -J | python3 scripts/check-cloudevents.py
"""
import json
import sys

from cloudevents.kafka import KafkaMessage, from_binary, from_structured


def decode(line):
    record = json.loads(line)
    raw_headers = record.get("headers") or []
    headers = {raw_headers[i]: (raw_headers[i + 1] or "").encode() for i in range(0, len(raw_headers), 2)}
    key = record.get("key")
    message = KafkaMessage(headers=headers, key=key.encode() if key is not None else None,
                           value=(record.get("payload") or "").encode())
    content_type = headers.get("content-type", b"").decode().lower()
    mode = "structured" if content_type.startswith("application/cloudevents") else "binary"
    event = from_structured(message) if mode == "structured" else from_binary(message)
    data = event.data
    if isinstance(data, (bytes, bytearray)):
        data = json.loads(data)
    attributes = {name: str(value) for name, value in event.get_attributes().items()}
    return {"mode": mode, "key": key, "attributes": attributes, "data": data}


def main():
    failures = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            print(json.dumps(decode(line), sort_keys=True))
        except Exception as error:  # report every bad record, then fail
            failures += 1
            print(f"not a CloudEvent: {error}: {line[:300]}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
