#!/usr/bin/env python3
"""Baseline webhook dispatcher of issue 12: what one would write by hand.

A confluent-kafka consumer group reads <prefix>.acr from the earliest offset;
every record (of --registry, told by its `registry` header, when given) is
POSTed as is to each of the webhook URLs with aiohttp (one shared
ClientSession, at most --per-host connections per host, at most --concurrency
POSTs in flight); the offsets of a batch are committed once every POST of the
batch got an answer. No retries, no delivery log, no audit records, no
circuit breaker: a non-2xx answer or an error is only counted.

Exits once it delivered --expected POSTs (2xx) or after --timeout seconds,
printing one JSON line: deliveries, failures, records, and the seconds from the
first delivery to the last.
"""
import argparse, asyncio, json, time
import aiohttp
from confluent_kafka import Consumer, KafkaException

p = argparse.ArgumentParser()
p.add_argument("--brokers", required=True)
p.add_argument("--topic", default="registry-events.acr")
p.add_argument("--group", default="pydispatcher")
p.add_argument("--urls", required=True, help="comma-separated webhook URLs")
p.add_argument("--registry", help="only records whose registry header is this")
p.add_argument("--expected", type=int, default=0, help="exit after this many deliveries (0: never)")
p.add_argument("--timeout", type=float, default=300)
p.add_argument("--batch", type=int, default=500)
p.add_argument("--concurrency", type=int, default=256)
p.add_argument("--per-host", type=int, default=64)
p.add_argument("--fetch-wait-ms", type=int, default=25, help="fetch.wait.max.ms (RegistryEvents uses 25)")
args = p.parse_args()

stats = {"delivered": 0, "failed": 0, "records": 0, "first": None, "last": None}


async def post(session, limit, url, body):
    async with limit:
        try:
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
                await r.read()
                ok = 200 <= r.status < 300
        except (aiohttp.ClientError, asyncio.TimeoutError):
            ok = False
    stats["delivered" if ok else "failed"] += 1
    if ok:
        stats["last"] = time.monotonic()
        stats["first"] = stats["first"] or stats["last"]


async def main():
    loop = asyncio.get_running_loop()
    consumer = Consumer({"bootstrap.servers": args.brokers, "group.id": args.group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "fetch.wait.max.ms": args.fetch_wait_ms})
    consumer.subscribe([args.topic])
    urls, registry = args.urls.split(","), (args.registry or "").encode()
    limit, deadline = asyncio.Semaphore(args.concurrency), time.monotonic() + args.timeout
    print(json.dumps({"status": "consuming", "topic": args.topic, "webhooks": len(urls)}), flush=True)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, limit_per_host=args.per_host),
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        while time.monotonic() < deadline and not (args.expected and stats["delivered"] >= args.expected):
            # wait for one record, then take what else is already there (a batch without a linger)
            first = await loop.run_in_executor(None, consumer.poll, 0.2)
            if first is None:
                continue
            batch = [first] + await loop.run_in_executor(None, consumer.consume, args.batch - 1, 0)
            posts = []
            for msg in batch:
                if msg.error():
                    continue
                if registry and dict(msg.headers() or []).get("registry") != registry:
                    continue
                stats["records"] += 1
                posts += [post(session, limit, url, msg.value()) for url in urls]
            await asyncio.gather(*posts)
            try:
                await loop.run_in_executor(None, lambda: consumer.commit(asynchronous=False))
            except KafkaException as e:  # e.g. a rebalance took the partitions: they are read again
                print(json.dumps({"commitFailed": str(e)}), flush=True)
    consumer.close()
    elapsed = (stats["last"] - stats["first"]) if stats["first"] else 0.0
    print(json.dumps({"delivered": stats["delivered"], "failed": stats["failed"], "records": stats["records"],
                      "seconds": round(elapsed, 3),
                      "perSecond": round(stats["delivered"] / elapsed, 1) if elapsed > 0 else None}), flush=True)


asyncio.run(main())
