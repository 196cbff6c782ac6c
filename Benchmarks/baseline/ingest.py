#!/usr/bin/env python3
"""Baseline ingest: the "60-line Python script" of issue 12.

aiohttp + confluent-kafka. Takes a Distribution notification envelope on
POST /v1/registries/{registry}/events (also .../notifications), produces each
push/delete event twice (ACR webhook JSON to <prefix>.acr, a CloudEvent to
<prefix>.cloudevents; key <registry>/<repository>; acks=all, idempotent) and
answers 200 only once Kafka acknowledged both. No dedupe, no validation, no
dead letters: the glue one would write by hand.
"""
import argparse, asyncio, json, threading, uuid
from aiohttp import web
from confluent_kafka import Producer

p = argparse.ArgumentParser()
p.add_argument("--brokers", required=True)
p.add_argument("--prefix", default="pybench")
p.add_argument("--port", type=int, default=19200)
args = p.parse_args()
producer = Producer({"bootstrap.servers": args.brokers, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
running = True

def poll_forever():  # delivery callbacks run here, in librdkafka's poll
    while running:
        producer.poll(0.05)

threading.Thread(target=poll_forever, daemon=True).start()

def dumps(obj):
    return json.dumps(obj, separators=(",", ":")).encode()

def acr_event(ev):
    t, r = ev.get("target", {}), ev.get("request", {})
    return {"id": ev["id"], "timestamp": ev["timestamp"], "action": ev["action"],
            "target": {k: t[k] for k in ("mediaType", "size", "digest", "length", "repository", "tag") if k in t},
            "request": {k: r[k] for k in ("id", "host", "method", "useragent") if k in r}}

def cloud_event(acr, registry):
    kind = "ImagePushed" if acr["action"] == "push" else "ImageDeleted"
    return {"specversion": "1.0", "type": f"Microsoft.ContainerRegistry.{kind}", "source": f"/registries/{registry}",
            "id": str(uuid.uuid4()), "time": acr["timestamp"], "datacontenttype": "application/json",
            "subject": f'{acr["target"]["repository"]}:{acr["target"].get("tag", "")}', "data": acr}

def settle(fut, err):
    if not fut.done():
        fut.set_exception(Exception(str(err))) if err else fut.set_result(None)

def produce(loop, topic, value, key, headers):
    fut = loop.create_future()
    done = lambda err, _msg: loop.call_soon_threadsafe(settle, fut, err)
    while True:
        try:
            producer.produce(topic, value=value, key=key, headers=headers, on_delivery=done)
            return fut
        except BufferError:  # local queue full: let deliveries drain
            producer.poll(0.01)

async def ingest(request):
    registry, loop = request.match_info["registry"], asyncio.get_running_loop()
    try:
        events = json.loads(await request.read())["events"]
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": "invalid envelope"}, status=400)
    futures = []
    for ev in events:
        if ev.get("action") not in ("push", "delete") or "repository" not in ev.get("target", {}):
            continue
        acr = acr_event(ev)
        key = f'{registry}/{acr["target"]["repository"]}'.encode()
        headers = [("registry", registry.encode()), ("action", acr["action"].encode())]
        futures.append(produce(loop, f"{args.prefix}.acr", dumps(acr), key, headers))
        futures.append(produce(loop, f"{args.prefix}.cloudevents", dumps(cloud_event(acr, registry)), key, headers))
    try:
        await asyncio.gather(*futures)
    except Exception as e:
        return web.json_response({"error": str(e)}, status=503)
    return web.json_response({"received": len(events), "produced": len(futures) // 2})

async def ready(_request):
    return web.json_response({"status": "ready"})

app = web.Application(client_max_size=1 << 20)
app.add_routes([web.post("/v1/registries/{registry}/events", ingest),
                web.post("/v1/registries/{registry}/notifications", ingest), web.get("/readyz", ready)])
web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=lambda *_: print(f"listening on {args.port}", flush=True))
running = False
producer.flush(10)
