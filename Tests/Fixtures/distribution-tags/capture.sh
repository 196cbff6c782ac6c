#!/usr/bin/env bash
# capture.sh - capture REAL notification envelopes from a local CNCF Distribution
# registry (Debian bookworm package `docker-registry`, 2.8.2) for tag_added /
# tag_removed / manifest delete: re-tagging an existing digest (same repository,
# other repository, raw manifest PUT), re-pushing an unchanged tag, moving a tag,
# the tag DELETE API, `skopeo delete` by tag, and a digest DELETE of a manifest
# that has several tags.
#
# Usage:   capture.sh [OUT_DIR]        (default: the directory of this script)
#
# Env:     REGISTRY_PORT (default 25055)  loopback port for the registry
#          SINK_PORT     (default 25056)  loopback port for the HTTP sink
#          EVENT_WAIT_S  (default 20)     max seconds to wait for a scenario's key event
#          QUIET_S       (default 2)      seconds without a new sink request that end
#                                         a scenario window
#          NOEVENT_WAIT_S (default 6)     how long to watch for events where none is expected
#          KEEP_WORK=1                    keep the temp work dir (printed at exit)
#          PYTHON        (default python3)
#
# Needs:   docker-registry skopeo umoci jq curl python3 (stdlib only)
#          apt-get install -y docker-registry skopeo umoci jq curl
#
# Everything listens on / talks to 127.0.0.1 only. All state lives in a mktemp
# dir that is removed on exit; the sink and the registry are killed by PID from
# an EXIT trap. As root, skopeo runs as `nobody` with HOME/XDG dirs in the temp
# dir (its blob-info cache included), so nothing goes to /var/lib/containers.
#
# Output (OUT_DIR), see README.md there:
#   <scenario>.json, <scenario>-<suffix>.json   envelope bodies, byte for byte
#   delete-tag-api-response.txt                 the registry's HTTP answer to
#                                               DELETE /v2/<name>/manifests/<tag>
#   window/<scenario>/NN-<action>-<kind>.json   every envelope received during a scenario
#   all-requests.jsonl                          every request the sink got
#   registry-requests.txt                       per scenario, the HTTP requests the
#                                               registry served (from its log)
#   tags.txt                                    tags/list after each scenario
#   index.json                                  per scenario: windows and event summaries
#   registry-config.yml                         the config the registry ran with
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT_DIR="${1:-${OUT_DIR:-$HERE}}"
REGISTRY_PORT="${REGISTRY_PORT:-25055}"
SINK_PORT="${SINK_PORT:-25056}"
EVENT_WAIT_S="${EVENT_WAIT_S:-20}"
QUIET_S="${QUIET_S:-2}"
NOEVENT_WAIT_S="${NOEVENT_WAIT_S:-6}"
PYTHON="${PYTHON:-python3}"
HOST=127.0.0.1
REG="http://$HOST:$REGISTRY_PORT"
REGD="$HOST:$REGISTRY_PORT"
export NO_PROXY="$HOST,localhost" no_proxy="$HOST,localhost"

log() { printf '[capture] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
curl_() { curl --noproxy '*' --max-time 30 "$@"; }

for bin in docker-registry skopeo umoci jq curl "$PYTHON" sha256sum; do
  command -v "$bin" >/dev/null 2>&1 || die "missing required command: $bin"
done

port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
port_in_use "$REGISTRY_PORT" && die "port $REGISTRY_PORT already in use on $HOST (set REGISTRY_PORT)"
port_in_use "$SINK_PORT" && die "port $SINK_PORT already in use on $HOST (set SINK_PORT)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/distribution-tags.XXXXXX")"
chmod 755 "$WORK"
SINK_FILE="$WORK/sink.jsonl"
PIDS=()
FAILED=()

cleanup() {
  local rc=$? pid
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$pid" 2>/dev/null || true; done
  if [[ $rc -ne 0 && -f "$WORK/registry.log" ]]; then
    log "registry log tail:"; tail -n 20 "$WORK/registry.log" >&2 || true
  fi
  if [[ "${KEEP_WORK:-0}" == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"

# ---------------------------------------------------------------- HTTP sink --
cat >"$WORK/sink.py" <<'PY'
import datetime, json, os, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
PORT, OUTFILE = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
seq = 0
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def handle_any(self):
        global seq
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        text = raw.decode("utf-8", errors="replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        with lock:
            seq += 1
            rec = {"seq": seq,
                   "received_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                   "method": self.command, "path": self.path,
                   "headers": [[k, v] for k, v in self.headers.items()],
                   "body_raw": text, "body": parsed}
            with open(OUTFILE, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_POST = do_PUT = do_GET = do_DELETE = do_PATCH = do_HEAD = handle_any
    def log_message(self, *a):
        pass
open(OUTFILE, "a").close()
srv = ThreadingHTTPServer(("127.0.0.1", PORT), H)
srv.daemon_threads = True
srv.serve_forever()
PY

# ------------------------------------------------------ sink query helper ---
cat >"$WORK/sinktool.py" <<'PY'
import json, os, re, sys, time
MANIFEST_HINTS = ("manifest", "image.index")

def records(path):
    out = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.endswith("\n"):
                    break
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except FileNotFoundError:
        pass
    return out

def events(rec):
    b = rec.get("body")
    return b.get("events", []) if isinstance(b, dict) else []

def matches(ev, crit):
    t = ev.get("target", {}) or {}
    for k, v in crit:
        if k == "action" and ev.get("action") != v: return False
        if k in ("repository", "tag", "digest", "fromRepository") and t.get(k) != v: return False
        if k == "has" and v not in t: return False
        if k == "lacks" and v in t: return False
        if k == "kind":
            mt = t.get("mediaType", "") or ""
            is_manifest = any(h in mt for h in MANIFEST_HINTS)
            if v == "manifest" and not is_manifest: return False
            if v == "blob" and (is_manifest or not mt): return False
    return True

def crit_of(args):
    return [tuple(a.split("=", 1)) for a in args]

def summarize(rec):
    out = []
    for e in events(rec):
        t = e.get("target") or {}
        out.append({"action": e.get("action"), "repository": t.get("repository"),
                    "tag": t.get("tag"), "mediaType": t.get("mediaType"),
                    "digest": t.get("digest"), "fromRepository": t.get("fromRepository"),
                    "request.method": (e.get("request") or {}).get("method"),
                    "request.id": (e.get("request") or {}).get("id")})
    return out

def settle(path, quiet):
    last, since = None, time.time()
    while True:
        cur = max([r["seq"] for r in records(path)], default=0)
        if cur != last:
            last, since = cur, time.time()
        elif time.time() - since >= quiet:
            return cur
        time.sleep(0.25)

cmd = sys.argv[1]
if cmd == "maxseq":
    print(max([r["seq"] for r in records(sys.argv[2])], default=0))
elif cmd == "wait":
    # wait FILE AFTER TIMEOUT QUIET crit... -> "KEYSEQ LASTSEQ"
    path, after, timeout, quiet = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
    crit = crit_of(sys.argv[6:])
    deadline, key = time.time() + timeout, None
    while key is None:
        for r in records(path):
            if r["seq"] > after and any(matches(e, crit) for e in events(r)):
                key = r["seq"]; break
        if key is None:
            if time.time() > deadline:
                sys.exit(1)
            time.sleep(0.25)
    print(key, settle(path, quiet))
elif cmd == "idle":
    # idle FILE WAIT QUIET -> LASTSEQ (watch for WAIT seconds, then until QUIET)
    path, wait, quiet = sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    time.sleep(wait)
    print(settle(path, quiet))
elif cmd == "find":
    # find FILE FIRST LAST crit... -> the one seq in the window that matches
    path, first, last = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    crit = crit_of(sys.argv[5:])
    hits = [r["seq"] for r in records(path)
            if first <= r["seq"] <= last and any(matches(e, crit) for e in events(r))]
    if len(hits) != 1:
        sys.stderr.write("find: %d matches for %s in %d..%d\n" % (len(hits), crit, first, last))
        sys.exit(1)
    print(hits[0])
elif cmd == "write":
    path, s, out = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    rec = [r for r in records(path) if r["seq"] == s][0]
    json.loads(rec["body_raw"])
    with open(out, "w", encoding="utf-8", newline="") as fh:
        fh.write(rec["body_raw"])  # verbatim
elif cmd == "window":
    path, first, last, outdir = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    os.makedirs(outdir, exist_ok=True)
    for r in records(path):
        if not (first <= r["seq"] <= last) or not r.get("body_raw"):
            continue
        evs = events(r)
        label = "no-events"
        if evs:
            e = evs[0]; t = e.get("target") or {}
            mt = t.get("mediaType") or ""
            if any(h in mt for h in MANIFEST_HINTS): kind = "manifest"
            elif mt: kind = "blob"
            elif t.get("digest"): kind = "digest"
            elif t.get("tag"): kind = "tag"
            else: kind = "other"
            label = "%s-%s" % (e.get("action"), kind)
            if len(evs) > 1: label += "-plus-%d-more" % (len(evs) - 1)
        with open(os.path.join(outdir, "%02d-%s.json" % (r["seq"], label)), "w", encoding="utf-8", newline="") as fh:
            fh.write(r["body_raw"])
elif cmd == "index":
    path, tsv, out = sys.argv[2], sys.argv[3], sys.argv[4]
    rs = {r["seq"]: r for r in records(path)}
    idx = {"note": "Derived metadata written by capture.sh; not a registry payload. "
                   "seq numbers refer to the 'seq' field of all-requests.jsonl.",
           "scenarios": []}
    with open(tsv, encoding="utf-8") as fh:
        for line in fh:
            name, first, last, files, desc = line.rstrip("\n").split("\t")
            first, last = int(first), int(last)
            idx["scenarios"].append({
                "scenario": name, "description": desc,
                "files": [f for f in files.split(",") if f],
                "requests_in_window": [{"seq": s, "events": summarize(rs[s])}
                                       for s in range(first, last + 1) if s in rs]})
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(idx, fh, indent=2)
        fh.write("\n")
elif cmd == "reglog":
    # reglog LOGFILE FROMLINE -> "METHOD URI -> STATUS (useragent) [err.code]" per served request
    logf, start = sys.argv[2], int(sys.argv[3])
    kv = re.compile(r'([\w.]+)=("(?:[^"\\]|\\.)*"|\S+)')
    with open(logf, encoding="utf-8", errors="replace") as fh:
        lines = fh.readlines()[start:]
    for ln in lines:
        if 'msg="response completed' not in ln:
            continue
        d = {k: (v[1:-1].replace('\\"', '"') if v.startswith('"') else v) for k, v in kv.findall(ln)}
        s = "%s %s -> %s (%s)" % (d.get("http.request.method"), d.get("http.request.uri"),
                                  d.get("http.response.status"), d.get("http.request.useragent"))
        if "err.code" in d:
            s += " err.code=%r err.message=%r" % (d.get("err.code"), d.get("err.message"))
        print(s)
PY

st() { "$PYTHON" "$WORK/sinktool.py" "$@"; }
: >"$WORK/scenarios.tsv"
: >"$OUT_DIR/registry-requests.txt"
: >"$OUT_DIR/tags.txt"
SCEN=""; SCEN_START=0; SCEN_LOGLINE=0; SCEN_FILES=""; SCEN_LAST=0

scenario_begin() { # NAME DESCRIPTION
  SCEN="$1"; SCEN_DESC="$2"; SCEN_FILES=""
  SCEN_START="$(st maxseq "$SINK_FILE")"
  SCEN_LOGLINE="$(wc -l <"$WORK/registry.log")"
  rm -rf "${OUT_DIR:?}/window/$SCEN"
  log "scenario $SCEN: $SCEN_DESC"
}
# wait_key crit...  : wait for the key event, then until the sink is quiet
wait_key() {
  local res
  if res="$(st wait "$SINK_FILE" "$SCEN_START" "$EVENT_WAIT_S" "$QUIET_S" "$@")"; then
    read -r _ SCEN_LAST <<<"$res"
  else
    FAILED+=("$SCEN")
    log "  !! no event matching $* within ${EVENT_WAIT_S}s"
    SCEN_LAST="$(st maxseq "$SINK_FILE")"
  fi
}
# wait_none : no event is expected; watch NOEVENT_WAIT_S seconds
wait_none() { SCEN_LAST="$(st idle "$SINK_FILE" "$NOEVENT_WAIT_S" "$QUIET_S")"; }
# save FILE crit...  : save the one envelope of this window matching crit, verbatim
save() {
  local file="$1" seq; shift
  if seq="$(st find "$SINK_FILE" "$((SCEN_START + 1))" "$SCEN_LAST" "$@")"; then
    st write "$SINK_FILE" "$seq" "$OUT_DIR/$file"
    SCEN_FILES="${SCEN_FILES:+$SCEN_FILES,}$file"
    log "  -> $file (sink seq $seq)"
  else
    FAILED+=("$SCEN:$file"); rm -f "${OUT_DIR:?}/$file"
  fi
}
tags_of() { curl_ -sS "$REG/v2/$1/tags/list"; }
scenario_end() {
  if ((SCEN_LAST > SCEN_START)); then
    st window "$SINK_FILE" "$((SCEN_START + 1))" "$SCEN_LAST" "$OUT_DIR/window/$SCEN"
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$SCEN" "$((SCEN_START + 1))" "$SCEN_LAST" "$SCEN_FILES" "$SCEN_DESC" >>"$WORK/scenarios.tsv"
  { echo "## $SCEN: $SCEN_DESC"; st reglog "$WORK/registry.log" "$SCEN_LOGLINE"; echo; } >>"$OUT_DIR/registry-requests.txt"
  { echo "## after $SCEN"; local r; for r in library/hello library/other; do
      echo "$r: $(tags_of "$r")"; done; echo; } >>"$OUT_DIR/tags.txt"
}

# ------------------------------------------------------------------ start --
log "work dir: $WORK"
"$PYTHON" "$WORK/sink.py" "$SINK_PORT" "$SINK_FILE" >"$WORK/sink.log" 2>&1 &
PIDS+=("$!")

mkdir -p "$WORK/storage"
cat >"$WORK/config.yml" <<YAML
version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: $WORK/storage
  delete:
    enabled: true
http:
  addr: $HOST:$REGISTRY_PORT
  secret: distribution-tags-capture-not-a-secret
notifications:
  events:
    includereferences: true
  endpoints:
    - name: capture-sink
      url: http://$HOST:$SINK_PORT/events
      headers:
        Authorization: [Bearer fixture-token]
        X-Fixture-Source: [distribution-tags-capture]
      timeout: 2s
      threshold: 3
      backoff: 1s
YAML
sed "s|$WORK|<temporary directory>|" "$WORK/config.yml" >"$OUT_DIR/registry-config.yml"

docker-registry serve "$WORK/config.yml" >"$WORK/registry.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 1 100); do
  if curl_ -fsS -o /dev/null "$REG/v2/" 2>/dev/null && port_in_use "$SINK_PORT"; then break; fi
  sleep 0.2
done
curl_ -fsS -o /dev/null "$REG/v2/" || die "registry did not come up on $REG"
port_in_use "$SINK_PORT" || die "sink did not come up on port $SINK_PORT"
log "registry: $(docker-registry --version); $(skopeo --version); $(umoci --version)"

# ----------------------------------------------------- build images (umoci) --
L="$WORK/layout"
umoci init --layout "$L"
build_image() { # TAG FILE CONTENT
  local tag="$1" file="$2" content="$3" bundle="$WORK/bundle-$1"
  umoci new --image "$L:$tag"
  umoci unpack --rootless --image "$L:$tag" "$bundle" >/dev/null
  printf '%s\n' "$content" >"$bundle/rootfs/$file"
  umoci repack --image "$L:$tag" "$bundle"
  umoci config --image "$L:$tag" --author "distribution-tags-capture" \
    --config.label "org.opencontainers.image.title=$tag" --config.cmd "/$file"
}
build_image hello hello.txt "hello from distribution-tags capture"
build_image world world.txt "another image (used to move a tag)"
chmod -R a+rX "$L"

# ------------------------------------------------------ skopeo (as nobody) --
SKH="$WORK/skopeo-home"
mkdir -p "$SKH/data" "$SKH/config" "$SKH/run"
chmod 700 "$SKH/run"
run_skopeo() {
  if [[ "$(id -u)" == 0 ]] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
    chown -R nobody "$SKH"
    (cd / && setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups \
      env HOME="$SKH" XDG_DATA_HOME="$SKH/data" XDG_CONFIG_HOME="$SKH/config" \
      XDG_RUNTIME_DIR="$SKH/run" NO_PROXY="$NO_PROXY" no_proxy="$no_proxy" skopeo --insecure-policy "$@")
  else
    env HOME="$SKH" XDG_DATA_HOME="$SKH/data" XDG_CONFIG_HOME="$SKH/config" \
      XDG_RUNTIME_DIR="$SKH/run" skopeo --insecure-policy "$@"
  fi
}
push_oci() { # SRC_TAG DEST_REPO:TAG
  run_skopeo copy --quiet --dest-tls-verify=false "oci:$L:$1" "docker://$REGD/$2"
}
retag() { # SRC_REPO:TAG DEST_REPO:TAG   (registry to registry, same registry)
  run_skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false \
    "docker://$REGD/$1" "docker://$REGD/$2"
}
ACCEPT=(-H 'Accept: application/vnd.oci.image.manifest.v1+json'
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json')
digest_of() { # REPO REF -> Docker-Content-Digest of a HEAD (produces a pull event: run outside windows)
  curl_ -fsS -o /dev/null -I "${ACCEPT[@]}" "$REG/v2/$1/manifests/$2" -D - |
    awk 'tolower($1)=="docker-content-digest:" {print $2}' | tr -d '\r'
}
# let the pull events of such HEADs arrive before the next scenario window opens
settle() { st idle "$SINK_FILE" 0.5 "$QUIET_S" >/dev/null; }

# ------------------------------------------------------------- scenarios ---
scenario_begin push-v1 "skopeo copy oci:hello -> library/hello:v1 (first push of the digest)"
push_oci hello library/hello:v1
wait_key action=push repository=library/hello tag=v1 kind=manifest
save push-v1.json action=push repository=library/hello tag=v1 kind=manifest
scenario_end
HELLO="$(digest_of library/hello v1)"
log "  library/hello:v1 = $HELLO"
settle

scenario_begin retag-same-repo "skopeo copy docker://R/library/hello:v1 docker://R/library/hello:prod"
retag library/hello:v1 library/hello:prod
wait_key action=push repository=library/hello tag=prod kind=manifest
save retag-same-repo.json action=push repository=library/hello tag=prod kind=manifest
scenario_end

scenario_begin retag-other-repo "skopeo copy docker://R/library/hello:v1 docker://R/library/other:prod"
retag library/hello:v1 library/other:prod
wait_key action=push repository=library/other tag=prod kind=manifest
save retag-other-repo.json action=push repository=library/other tag=prod kind=manifest
scenario_end

scenario_begin retag-curl-put "curl GET library/hello:v1 manifest, PUT the same bytes as library/hello:stable (what crane/oras tag do)"
M="$WORK/v1-manifest"
curl_ -fsS -o "$M.body" -D "$M.headers" "${ACCEPT[@]}" "$REG/v2/library/hello/manifests/v1"
MT="$(awk 'tolower($1)=="content-type:" {print $2}' "$M.headers" | tr -d '\r')"
code="$(curl_ -sS -o "$WORK/put.resp" -w '%{http_code}' -X PUT -H "Content-Type: $MT" \
  --data-binary "@$M.body" "$REG/v2/library/hello/manifests/stable")"
[[ "$code" == 201 ]] || die "manifest PUT returned $code: $(cat "$WORK/put.resp")"
wait_key action=push repository=library/hello tag=stable kind=manifest
save retag-curl-put.json action=push repository=library/hello tag=stable kind=manifest
scenario_end

scenario_begin repush-same-tag "skopeo copy docker://R/library/hello:v1 docker://R/library/hello:prod again (prod already = that digest)"
retag library/hello:v1 library/hello:prod
wait_key action=push repository=library/hello tag=prod kind=manifest
save repush-same-tag.json action=push repository=library/hello tag=prod kind=manifest
scenario_end

scenario_begin tag-move "skopeo copy oci:world -> library/hello:stable (stable moves from the hello digest to a new one)"
push_oci world library/hello:stable
wait_key action=push repository=library/hello tag=stable kind=manifest
save tag-move.json action=push repository=library/hello tag=stable kind=manifest
scenario_end
WORLD="$(digest_of library/hello stable)"
log "  library/hello:stable = $WORLD"
for t in v1 prod; do [[ "$(digest_of library/hello "$t")" == "$HELLO" ]] || die "library/hello:$t is not $HELLO"; done
[[ "$(digest_of library/other prod)" == "$HELLO" ]] || die "library/other:prod is not $HELLO (skopeo changed the digest?)"
settle

scenario_begin delete-tag-api "curl -X DELETE /v2/library/hello/manifests/prod (tag delete API)"
curl_ -sS -i -X DELETE "$REG/v2/library/hello/manifests/prod" >"$OUT_DIR/delete-tag-api-response.txt" || true
log "  $(head -n1 "$OUT_DIR/delete-tag-api-response.txt" | tr -d '\r')"
wait_none
SCEN_FILES="delete-tag-api-response.txt"
scenario_end

scenario_begin delete-tag-skopeo "skopeo delete docker://R/library/hello:prod"
run_skopeo delete --tls-verify=false "docker://$REGD/library/hello:prod"
wait_key action=delete repository=library/hello digest="$HELLO"
save delete-tag-skopeo.json action=delete repository=library/hello has=digest
save delete-tag-skopeo-tag-prod.json action=delete repository=library/hello tag=prod
save delete-tag-skopeo-tag-v1.json action=delete repository=library/hello tag=v1
scenario_end

scenario_begin add-second-tag-other "skopeo copy docker://R/library/other:prod docker://R/library/other:latest"
retag library/other:prod library/other:latest
wait_key action=push repository=library/other tag=latest kind=manifest
save retag-other-repo-second-tag.json action=push repository=library/other tag=latest kind=manifest
scenario_end

scenario_begin delete-manifest-with-tags "curl -X DELETE /v2/library/other/manifests/<digest> (tagged prod and latest)"
code="$(curl_ -sS -o "$WORK/delete.resp" -w '%{http_code}' -X DELETE "$REG/v2/library/other/manifests/$HELLO")"
[[ "$code" == 202 ]] || die "manifest DELETE returned $code: $(cat "$WORK/delete.resp")"
wait_key action=delete repository=library/other digest="$HELLO"
save delete-manifest-with-tags.json action=delete repository=library/other has=digest
save delete-manifest-with-tags-tag-latest.json action=delete repository=library/other tag=latest
save delete-manifest-with-tags-tag-prod.json action=delete repository=library/other tag=prod
scenario_end

# ---------------------------------------------------------------- finish ---
sleep "$QUIET_S"
cp "$SINK_FILE" "$OUT_DIR/all-requests.jsonl"
st index "$SINK_FILE" "$WORK/scenarios.tsv" "$OUT_DIR/index.json"
{ echo "hello (oci:hello) digest: $HELLO"; echo "world (oci:world) digest: $WORLD"; } >"$OUT_DIR/digests.txt"
log "sink received $(wc -l <"$OUT_DIR/all-requests.jsonl") request(s); output in $OUT_DIR"
if ((${#FAILED[@]})); then
  log "missing captures: ${FAILED[*]}"
  exit 3
fi
