#!/usr/bin/env bash
# registry-scenario.sh - drive a REAL CNCF Distribution registry (Debian package
# `docker-registry`, 2.8.x) for RegistryEvents end-to-end tests.
#
# Usage:
#   registry-scenario.sh start      WORKDIR PORT NOTIFY_URL [AUTH_TOKEN]
#   registry-scenario.sh push-image WORKDIR PORT REPOSITORY TAG [v2s2]
#   registry-scenario.sh push-chart WORKDIR PORT REPOSITORY VERSION [CHART_NAME]
#   registry-scenario.sh delete     WORKDIR PORT REPOSITORY DIGEST
#   registry-scenario.sh retag      WORKDIR PORT REPOSITORY FROM_TAG TO_TAG
#   registry-scenario.sh delete-tag WORKDIR PORT REPOSITORY TAG
#   registry-scenario.sh stop       WORKDIR
#
# stdout: only `key=value` lines (the result); stderr: logs. Exit status is
# non-zero with an `ERROR:` line on stderr on any failure.
#   start      -> registry=127.0.0.1:PORT  pid=N
#   push-image -> digest=sha256:...  mediaType=application/vnd.oci.image.manifest.v1+json
#                 (or application/vnd.docker.distribution.manifest.v2+json with v2s2)
#   push-chart -> digest=sha256:...  configDigest=sha256:...  layerDigest=sha256:...
#                 mediaType=application/vnd.oci.image.manifest.v1+json
#   delete     -> deleted=sha256:...
#   retag      -> digest=sha256:...  (skopeo copy docker:…:FROM -> docker:…:TO: a manifest PUT by tag of a known digest)
#   delete-tag -> deleted=sha256:...  (skopeo delete docker:…:TAG; Distribution 2.8 has no tag-only delete,
#                 so the manifest goes, with every tag it had)
#   stop       -> stopped=N  (or stopped=none when nothing was running)
#
# Everything listens on / talks to 127.0.0.1 only; all state is in WORKDIR:
#   config.yml registry.log registry.pid storage/   (start)
#   oci/ (umoci layout, built once, offline)  skopeo-home/   (push-image)
#   chart-*/   (push-chart)
# When run as root, skopeo runs as `nobody` with HOME/XDG dirs in
# WORKDIR/skopeo-home, so nothing is written to /var/lib/containers; WORKDIR
# must then be reachable by `nobody` (every parent directory o+x).
# Needs: docker-registry skopeo umoci jq curl sha256sum tar gzip (+ setpriv as root)
#   apt-get install -y docker-registry skopeo umoci jq curl
set -euo pipefail

HOST=127.0.0.1
export NO_PROXY="$HOST,localhost" no_proxy="$HOST,localhost"

log() { printf '[registry-scenario] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { sed -n '/^# Usage:/,/^#$/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
need() { local b; for b in "$@"; do command -v "$b" >/dev/null 2>&1 || die "missing required command: $b"; done; }
curl_() { curl --noproxy '*' --max-time 30 "$@"; }

check_port() { if ! [[ "$1" =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > 65535)); then die "bad port: '$1'"; fi; }
check_repo() { [[ "$1" =~ ^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$ ]] || die "bad repository name: '$1'"; }
check_tag() { [[ "$1" =~ ^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$ ]] || die "bad tag: '$1'"; }
check_digest() { [[ "$1" =~ ^sha256:[a-f0-9]{64}$ ]] || die "bad digest: '$1'"; }
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
file_digest() { printf 'sha256:%s' "$(sha256sum "$1" | cut -d' ' -f1)"; }
# a PID counts as running unless it is gone or a zombie (an orphaned registry
# may be left unreaped by whatever process adopted it)
alive() { local st; st="$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null)" && [[ -n "$st" && "${st:0:1}" != Z ]]; }
header() { awk -v h="$1" 'tolower($1)==tolower(h)":" {print $2}' "$2" | tr -d '\r'; }

# ------------------------------------------------------------------ start --
cmd_start() {
  (($# == 3 || $# == 4)) || usage
  local wd="$1" port="$2" url="$3" token="${4:-}" pid
  check_port "$port"
  [[ "$url" =~ ^https?:// ]] || die "NOTIFY_URL must be an http(s) URL: '$url'"
  need docker-registry curl jq
  mkdir -p "$wd/storage"; wd="$(cd "$wd" && pwd)"
  if [[ -f "$wd/registry.pid" ]] && alive "$(cat "$wd/registry.pid")"; then
    die "a registry is already running for $wd (pid $(cat "$wd/registry.pid")); run stop first"
  fi
  port_open "$port" && die "port $port already in use on $HOST"

  local headers=""
  [[ -n "$token" ]] && headers="      headers:
        Authorization: [$(jq -Rn --arg v "Bearer $token" '$v')]"
  cat >"$wd/config.yml" <<YAML
version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: $(jq -Rn --arg v "$wd/storage" '$v')
  delete:
    enabled: true
http:
  addr: $HOST:$port
  secret: registry-scenario-not-a-secret
notifications:
  events:
    includereferences: true
  endpoints:
    - name: regevents
      url: $(jq -Rn --arg v "$url" '$v')
${headers:+$headers
}      timeout: 2s
      threshold: 3
      backoff: 1s
YAML

  # New session, all fds away from the caller's pipes (so a caller reading our
  # stdout to EOF does not hang on the long-lived registry).
  # Close every inherited descriptor above 2 first: a caller (Foundation's
  # Process, say) may watch one to learn when this script has exited, and a
  # registry holding it open would make the script look alive forever.
  (
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      if [[ $fd -gt 2 ]]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid docker-registry serve "$wd/config.yml" </dev/null >"$wd/registry.log" 2>&1
  ) &
  pid=$!
  echo "$pid" >"$wd/registry.pid"
  local deadline=$((SECONDS + 20))
  until curl_ -fsS -o /dev/null --max-time 1 "http://$HOST:$port/v2/" 2>/dev/null; do
    if ! alive "$pid"; then
      tail -n 20 "$wd/registry.log" >&2 || true
      rm -f "$wd/registry.pid"
      die "registry exited during startup (log: $wd/registry.log)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 20 "$wd/registry.log" >&2 || true
      kill "$pid" 2>/dev/null || true
      rm -f "$wd/registry.pid"
      die "registry did not answer on http://$HOST:$port/v2/ within 20s"
    fi
    sleep 0.1
  done
  log "registry up on $HOST:$port (pid $pid, log $wd/registry.log)"
  echo "registry=$HOST:$port"
  echo "pid=$pid"
}

# ------------------------------------------------------------------- stop --
cmd_stop() {
  (($# == 1)) || usage
  local wd="$1" pid f="$1/registry.pid"
  if [[ ! -f "$f" ]]; then echo "stopped=none"; return; fi
  pid="$(cat "$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] || die "garbage in $f: '$pid'"
  # only kill it if it is still our registry (PIDs get reused)
  if alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "docker-registry serve .*config.yml"; then
    kill -TERM "$pid" 2>/dev/null || true
    local _
    for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      log "registry pid $pid ignored SIGTERM for 10s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
      alive "$pid" && die "registry pid $pid did not exit"
    fi
    rm -f "$f"
    log "registry pid $pid stopped"
    echo "stopped=$pid"
  else
    rm -f "$f"
    echo "stopped=none"
  fi
}

# ------------------------------------------------------------- push-image --
build_image() { # build_image WORKDIR -> WORKDIR/oci with tag "img" (offline)
  local wd="$1" tmp
  [[ -f "$wd/oci/index.json" ]] && return 0
  tmp="$(mktemp -d "$wd/oci-build.XXXXXX")"
  log "building OCI image with umoci in $wd/oci"
  umoci init --layout "$tmp/layout" >&2
  umoci new --image "$tmp/layout:img" >&2
  umoci unpack --rootless --image "$tmp/layout:img" "$tmp/bundle" >/dev/null
  printf 'hello from registry-scenario\n' >"$tmp/bundle/rootfs/hello.txt"
  umoci repack --image "$tmp/layout:img" "$tmp/bundle" >&2
  umoci config --image "$tmp/layout:img" --author registry-scenario \
    --config.label org.opencontainers.image.title=registry-scenario --config.cmd /hello.txt >&2
  umoci gc --layout "$tmp/layout" >&2
  chmod -R a+rX "$tmp/layout"
  mv -T "$tmp/layout" "$wd/oci"
  rm -rf "$tmp"
}

run_skopeo() { # run_skopeo WORKDIR ARGS...
  local wd="$1" skh="$1/skopeo-home"; shift
  mkdir -p "$skh/data" "$skh/config" "$skh/run"
  chmod 700 "$skh/run"
  local envs=(env HOME="$skh" XDG_DATA_HOME="$skh/data" XDG_CONFIG_HOME="$skh/config"
    XDG_RUNTIME_DIR="$skh/run" NO_PROXY="$NO_PROXY" no_proxy="$no_proxy")
  if [[ "$(id -u)" == 0 ]]; then
    need setpriv
    id nobody >/dev/null 2>&1 || die "user nobody does not exist (needed to run skopeo without root)"
    chown -R nobody "$skh"
    local asn=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups)
    "${asn[@]}" test -r "$wd/oci/index.json" -a -w "$skh/run" ||
      die "user nobody cannot reach $wd (make WORKDIR and its parents o+x)"
    (cd / && "${asn[@]}" "${envs[@]}" skopeo --insecure-policy "$@")
  else
    "${envs[@]}" skopeo --insecure-policy "$@"
  fi
}

cmd_push_image() {
  (($# == 4 || $# == 5)) || usage
  local wd="$1" port="$2" repo="$3" tag="$4" fmt="${5:-}" mt
  check_port "$port"; check_repo "$repo"; check_tag "$tag"
  need umoci skopeo
  [[ -d "$wd" ]] || die "no such WORKDIR: $wd"
  wd="$(cd "$wd" && pwd)"
  chmod o+x "$wd"
  local extra=()
  case "$fmt" in
    "") mt=application/vnd.oci.image.manifest.v1+json ;;
    v2s2) mt=application/vnd.docker.distribution.manifest.v2+json; extra=(--format v2s2) ;;
    *) die "5th argument must be 'v2s2' or absent, got '$fmt'" ;;
  esac
  build_image "$wd"
  local df="$wd/skopeo-home/digest"
  mkdir -p "$wd/skopeo-home"; rm -f "$df"
  log "skopeo copy oci:$wd/oci:img -> docker://$HOST:$port/$repo:$tag ${extra[*]}"
  run_skopeo "$wd" copy --quiet --dest-tls-verify=false --digestfile "$df" "${extra[@]}" \
    "oci:$wd/oci:img" "docker://$HOST:$port/$repo:$tag" >&2 || die "skopeo copy failed"
  local digest
  digest="$(cat "$df" 2>/dev/null || true)"
  check_digest "$digest"
  echo "digest=$digest"
  echo "mediaType=$mt"
}

# ------------------------------------------------------------- push-chart --
blob_upload() { # blob_upload REG REPO FILE TMPDIR -> prints digest
  local reg="$1" repo="$2" file="$3" tmp="$4" digest loc sep code
  digest="$(file_digest "$file")"
  code="$(curl_ -sS -o /dev/null -D "$tmp/post.headers" -w '%{http_code}' -X POST "$reg/v2/$repo/blobs/uploads/")" ||
    die "blob upload POST to $repo failed"
  [[ "$code" == 202 ]] || die "blob upload POST to $repo returned $code"
  loc="$(header location "$tmp/post.headers")"
  [[ -n "$loc" ]] || die "no upload Location for $repo"
  [[ "$loc" == /* ]] && loc="$reg$loc"
  sep='?'; [[ "$loc" == *\?* ]] && sep='&'
  code="$(curl_ -sS -o "$tmp/put.resp" -w '%{http_code}' -X PUT \
    -H 'Content-Type: application/octet-stream' --data-binary "@$file" \
    "$loc${sep}digest=${digest/:/%3A}")" || die "blob PUT to $repo failed"
  [[ "$code" == 201 ]] || die "blob PUT to $repo returned $code: $(cat "$tmp/put.resp")"
  printf '%s' "$digest"
}

cmd_push_chart() {
  (($# == 4 || $# == 5)) || usage
  local wd="$1" port="$2" repo="$3" version="$4" name="${5:-${3##*/}}"
  check_port "$port"; check_repo "$repo"; check_tag "$version"
  [[ "$name" =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$ ]] || die "bad chart name: '$name'"
  need curl jq tar gzip sha256sum
  [[ -d "$wd" ]] || die "no such WORKDIR: $wd"
  local reg="http://$HOST:$port" c
  c="$(mktemp -d "$wd/chart-XXXXXX")"
  mkdir -p "$c/src/$name"
  jq -cjn --arg n "$name" --arg v "$version" '{name: $n, version: $v, apiVersion: "v2"}' >"$c/config.json"
  printf 'apiVersion: v2\nname: %s\nversion: %s\ndescription: registry-scenario test chart\n' \
    "$name" "$version" >"$c/src/$name/Chart.yaml"
  tar -C "$c/src" --owner=0 --group=0 --numeric-owner --mtime='2020-01-01 00:00:00Z' -cf - "$name" |
    gzip -n >"$c/chart.tgz"
  local cfg layer code digest
  cfg="$(blob_upload "$reg" "$repo" "$c/config.json" "$c")"
  layer="$(blob_upload "$reg" "$repo" "$c/chart.tgz" "$c")"
  jq -cjn --arg cd "$cfg" --argjson cs "$(stat -c %s "$c/config.json")" \
    --arg ld "$layer" --argjson ls "$(stat -c %s "$c/chart.tgz")" '{
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.cncf.helm.config.v1+json", digest: $cd, size: $cs},
      layers: [{mediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip", digest: $ld, size: $ls}]
    }' >"$c/manifest.json"
  log "PUT $reg/v2/$repo/manifests/$version (helm chart $name)"
  code="$(curl_ -sS -o "$c/manifest.resp" -D "$c/manifest.headers" -w '%{http_code}' -X PUT \
    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$c/manifest.json" "$reg/v2/$repo/manifests/$version")" || die "manifest PUT failed"
  [[ "$code" == 201 ]] || die "manifest PUT returned $code: $(cat "$c/manifest.resp")"
  digest="$(header docker-content-digest "$c/manifest.headers")"
  [[ "$digest" == "$(file_digest "$c/manifest.json")" ]] ||
    die "registry digest '$digest' differs from the manifest's sha256"
  echo "digest=$digest"
  echo "configDigest=$cfg"
  echo "layerDigest=$layer"
  echo "mediaType=application/vnd.oci.image.manifest.v1+json"
}

# ----------------------------------------------------------------- delete --
cmd_delete() {
  (($# == 4)) || usage
  local wd="$1" port="$2" repo="$3" digest="$4" code resp
  check_port "$port"; check_repo "$repo"; check_digest "$digest"
  need curl
  [[ -d "$wd" ]] || die "no such WORKDIR: $wd"
  resp="$wd/delete.resp"
  code="$(curl_ -sS -o "$resp" -w '%{http_code}' -X DELETE \
    "http://$HOST:$port/v2/$repo/manifests/$digest")" || { rm -f "$resp"; die "DELETE request failed"; }
  if [[ "$code" != 202 ]]; then
    log "response: $(cat "$resp")"; rm -f "$resp"
    die "DELETE /v2/$repo/manifests/$digest returned $code (want 202)"
  fi
  rm -f "$resp"
  log "deleted $repo@$digest"
  echo "deleted=$digest"
}

cmd_retag() {
  (($# == 5)) || usage
  local wd="$1" port="$2" repo="$3" from="$4" to="$5" df
  check_port "$port"; check_repo "$repo"; check_tag "$from"; check_tag "$to"
  need skopeo
  [[ -d "$wd" ]] || die "no such WORKDIR: $wd"
  wd="$(cd "$wd" && pwd)"
  df="$wd/skopeo-home/retag-digest"
  mkdir -p "$wd/skopeo-home"; rm -f "$df"
  log "skopeo copy docker://$HOST:$port/$repo:$from -> docker://$HOST:$port/$repo:$to"
  run_skopeo "$wd" copy --quiet --src-tls-verify=false --dest-tls-verify=false --digestfile "$df" \
    "docker://$HOST:$port/$repo:$from" "docker://$HOST:$port/$repo:$to" >&2 || die "skopeo copy (retag) failed"
  local digest
  digest="$(cat "$df" 2>/dev/null || true)"
  check_digest "$digest"
  echo "digest=$digest"
}

cmd_delete_tag() {
  (($# == 4)) || usage
  local wd="$1" port="$2" repo="$3" tag="$4" digest
  check_port "$port"; check_repo "$repo"; check_tag "$tag"
  need skopeo curl
  [[ -d "$wd" ]] || die "no such WORKDIR: $wd"
  wd="$(cd "$wd" && pwd)"
  digest="$(curl_ -sSI -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$HOST:$port/v2/$repo/manifests/$tag" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')"
  check_digest "$digest"
  log "skopeo delete docker://$HOST:$port/$repo:$tag ($digest)"
  run_skopeo "$wd" delete --tls-verify=false "docker://$HOST:$port/$repo:$tag" >&2 || die "skopeo delete failed"
  echo "deleted=$digest"
}

(($# >= 1)) || usage
sub="$1"; shift
case "$sub" in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  push-image) cmd_push_image "$@" ;;
  push-chart) cmd_push_chart "$@" ;;
  delete) cmd_delete "$@" ;;
  retag) cmd_retag "$@" ;;
  delete-tag) cmd_delete_tag "$@" ;;
  -h | --help | help) usage ;;
  *) log "unknown subcommand: $sub"; usage ;;
esac
