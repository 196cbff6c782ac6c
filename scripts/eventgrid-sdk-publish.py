#!/usr/bin/env python3
"""Publishes events to a RegistryEvents custom topic with Azure's own SDK
(azure-eventgrid's EventGridPublisherClient), unchanged, pointed at our topic
endpoint -- the way an Event Grid user would.

Usage:
  python3 scripts/eventgrid-sdk-publish.py --endpoint URL --key KEY
      --schema eventgrid|cloudevents [--sas] [--sas-expires-in SECONDS]
      [--count N] [--expect-error STATUS] [--timeout SECONDS]

  --endpoint        the topic endpoint, e.g. http://127.0.0.1:8080/api/events;
                    the SDK POSTs to it as given plus ?api-version=2018-01-01
  --key             a topic access key (base64, as Azure issues them)
  --schema          eventgrid: a list of EventGridEvent (application/json)
                    cloudevents: a list of CloudEvent (application/cloudevents-batch+json)
  --sas             authenticate with aeg-sas-token: generate_sas(endpoint, key,
                    now + --sas-expires-in) instead of the aeg-sas-key header
  --sas-expires-in  lifetime of the SAS token in seconds (default 3600; a
                    negative value makes an already expired token)
  --count           how many events to send in the one request (default 2)
  --expect-error    the send must fail with this HTTP status (e.g. 401 for a
                    wrong key); exit 0 only then
  --timeout         give up after this many seconds (default 60), exit 2

On success prints one JSON line {"published": N, "ids": [...]} and exits 0.
On an SDK error prints {"type", "status_code", "message"} as JSON to stderr
and exits 1. With --expect-error, prints {"expected_error": STATUS, "type",
"message"} to stdout and exits 0 if the send failed with STATUS, else exits 1.

Note: the SDK treats only 200 as success, and retries POSTs answered 500, 503
or 504 (or any status >= 400 with Retry-After) up to 3 times with backoff.
"""
import argparse
import datetime
import json
import signal
import sys

from azure.core.credentials import AzureKeyCredential, AzureSasCredential
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridEvent, EventGridPublisherClient, generate_sas

EVENT_TYPE = "Contoso.Items.ItemReceived"


def make_events(schema, count):
    events = []
    for i in range(count):
        data = {"itemSku": f"sku-{i}", "index": i}
        if schema == "eventgrid":
            events.append(EventGridEvent(subject=f"sdk/{i}", event_type=EVENT_TYPE, data=data, data_version="1.0"))
        else:
            events.append(CloudEvent(source="/sdk/tests", type=EVENT_TYPE, subject=f"sdk/{i}", data=data))
    return events


def make_credential(args):
    if not args.sas:
        return AzureKeyCredential(args.key)
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=args.sas_expires_in)
    return AzureSasCredential(generate_sas(args.endpoint, args.key, expires))


def status_of(error):
    """The HTTP status behind an SDK error. For a 404 the client re-raises a bare
    ResourceNotFoundError (no response) `from` the original one, so follow the chain."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        status = getattr(error, "status_code", None)
        if status is not None:
            return status
        error = error.__cause__ or error.__context__
    return None


def describe(error):
    return {"type": type(error).__name__, "status_code": status_of(error), "message": str(error)}


def on_timeout(signum, frame):
    print(json.dumps({"type": "Timeout", "status_code": None, "message": "no answer in time"}), file=sys.stderr)
    sys.exit(2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--schema", required=True, choices=["eventgrid", "cloudevents"])
    parser.add_argument("--sas", action="store_true")
    parser.add_argument("--sas-expires-in", type=int, default=3600)
    parser.add_argument("--count", type=int, default=2)
    parser.add_argument("--expect-error", type=int, metavar="STATUS")
    parser.add_argument("--timeout", type=int, default=60)
    args = parser.parse_args()
    if args.count < 1:
        parser.error("--count must be at least 1")

    signal.signal(signal.SIGALRM, on_timeout)
    signal.alarm(args.timeout)

    events = make_events(args.schema, args.count)
    ids = [str(event.id) for event in events]
    try:
        client = EventGridPublisherClient(args.endpoint, make_credential(args))
        with client:
            client.send(events)
    except Exception as error:  # any SDK error: report it, then decide
        if args.expect_error is not None:
            got = describe(error)
            if got["status_code"] == args.expect_error:
                print(json.dumps({"expected_error": args.expect_error, "type": got["type"],
                                  "message": got["message"]}))
                return 0
            print(f"expected HTTP {args.expect_error}, got: {json.dumps(got)}", file=sys.stderr)
            return 1
        print(json.dumps(describe(error)), file=sys.stderr)
        return 1
    if args.expect_error is not None:
        print(f"expected HTTP {args.expect_error}, but the send succeeded; ids {ids}", file=sys.stderr)
        return 1
    print(json.dumps({"published": len(events), "ids": ids}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
