#!/usr/bin/env bash
# `npm run container:check`: build the Dockerfile and prove the image works: it answers
# /health/ready on all interfaces (0.0.0.0, not only loopback), runs as a non-root user, has a
# working HEALTHCHECK, and on SIGTERM finishes an open stream and exits 0 within seconds.
# Engine: Docker when a Docker engine answers; else ../shared/tools/container-check.sh (buildah +
# podman, no daemon; it builds and probes first, the checks below then run on its image); else a
# clear failure. CONTAINER_ENGINE=docker|podman forces one; SHARED_CHECK names the shared script.
set -uo pipefail
cd "$(dirname "$0")/.."

NAME=anygate-container-check
SHARED_CHECK=${SHARED_CHECK:-../shared/tools/container-check.sh}
started=$(date +%s)
passed=0
failed=0

say() { printf 'container-check: %s\n' "$*"; }
check() { # check <description> <command...>: one line per check, counted
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    say "ok   $what"
  else
    failed=$((failed + 1))
    say "FAIL $what"
  fi
}
finish() {
  say "$passed passed, $failed failed ($(($(date +%s) - started))s, engine $ENGINE)"
  [ "$failed" -eq 0 ]
  exit $?
}
free_port() { node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
# An address of this machine other than loopback: answering there proves the server binds 0.0.0.0.
outside_address() {
  node -p "Object.values(require('node:os').networkInterfaces()).flat().find((a)=>a.family==='IPv4'&&!a.internal)?.address??''"
}

docker_answers() { command -v docker >/dev/null && timeout 10 docker info >/dev/null 2>&1; }
ENGINE=${CONTAINER_ENGINE:-}
if [ -z "$ENGINE" ]; then
  if docker_answers; then ENGINE=docker
  elif [ -f "$SHARED_CHECK" ]; then ENGINE=podman
  else
    say "no Docker engine answers (docker info) and $SHARED_CHECK is missing: cannot build the image."
    say "Start Docker, or run where the buildah/podman stand-in exists (SHARED_CHECK=<path>)."
    # 3, not 1: nothing was tried, so CI can tell "no engine here" from "the image is broken".
    exit 3
  fi
fi

PORT=$(free_port)
case "$ENGINE" in
  docker)
    IMG=anygate:container-check
    say "docker build -t $IMG ."
    docker build -q -t "$IMG" . >/dev/null || { failed=1; finish; }
    # Published port: traffic arrives on the container's own interface, never its loopback.
    RUN_ARGS=(-p "127.0.0.1:$PORT:8080")
    BASE_URL=http://127.0.0.1:$PORT
    ;;
  podman)
    # The shared script builds with buildah, whose default OCI format drops HEALTHCHECK; the Docker
    # format keeps it, as `docker build` does.
    export BUILDAH_FORMAT=docker
    export WORK=${WORK:-${TMPDIR:-/tmp}/container-check}
    say "bash $SHARED_CHECK (buildah build, podman run, probe /health/ready)"
    if PORT=$PORT bash "$SHARED_CHECK" .; then passed=$((passed + 1)); else failed=$((failed + 1)); finish; fi
    export CONTAINERS_STORAGE_CONF=$WORK/storage.conf CONTAINERS_CONF=$WORK/containers.conf
    IMG=localhost/app-under-check:ci
    # Host network, as the shared script runs it: probing a non-loopback address of the host
    # reaches the server only if it listens on 0.0.0.0.
    RUN_ARGS=(--network host -e "PORT=$PORT")
    address=$(outside_address)
    [ -n "$address" ] || { say "no non-loopback IPv4 address: cannot prove 0.0.0.0"; address=127.0.0.1; }
    BASE_URL=http://$address:$PORT
    ;;
  *) say "CONTAINER_ENGINE must be docker or podman, not $ENGINE"; exit 2 ;;
esac

cleanup() { "$ENGINE" rm -f "$NAME" >/dev/null 2>&1 || true; rm -f "${stream_out:-}"; }
trap cleanup EXIT
cleanup
# podman without systemd logs that it cannot schedule the HEALTHCHECK timer: noise unless run fails.
if ! run_output=$("$ENGINE" run -d --name "$NAME" "${RUN_ARGS[@]}" "$IMG" 2>&1); then
  printf '%s\n' "$run_output"
  failed=$((failed + 1))
  finish
fi

status_of() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE_URL$1" 2>/dev/null || true; }
becomes_ready() {
  for _ in $(seq 1 100); do [ "$(status_of /health/ready)" = 200 ] && return 0; sleep 0.2; done
  "$ENGINE" logs "$NAME" 2>&1 | tail -5
  return 1
}
check "GET /health/ready answers 200 at $BASE_URL" becomes_ready
# Assets tsc does not copy (routes/ui/public) must be in the image too.
check "GET /ui/ serves the dashboard page" test "$(status_of /ui/)" = 200

non_root() {
  local uid
  uid=$("$ENGINE" exec "$NAME" node -p 'process.getuid()' 2>/dev/null) || return 1
  say "     the gateway runs as uid $uid"
  [ -n "$uid" ] && [ "$uid" != 0 ]
}
check "runs as a non-root user" non_root

healthcheck_works() {
  if [ "$ENGINE" = podman ]; then
    podman healthcheck run "$NAME" >/dev/null
  else
    # Docker runs the first check only after --interval (30 s): the image must declare it.
    [ "$(docker inspect --format '{{if .Config.Healthcheck}}yes{{end}}' "$NAME")" = yes ]
  fi
}
check "HEALTHCHECK is kept in the image and passes" healthcheck_works

# SIGTERM with a stream open: the listener closes (readiness no longer 200), the stream still ends
# with [DONE], and the container exits 0 long before the stop timeout would kill it.
stream_out=$(mktemp)
curl -sN --max-time 30 "$BASE_URL/v1/chat/completions" -H 'content-type: application/json' \
  -H 'x-mock-chunk-delay-ms: 100' \
  -d '{"model":"echo","stream":true,"messages":[{"role":"user","content":"one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"}]}' \
  >"$stream_out" &
curl_pid=$!
for _ in $(seq 1 50); do [ -s "$stream_out" ] && break; sleep 0.1; done
stop_started=$(date +%s%N)
"$ENGINE" stop -t 20 "$NAME" >/dev/null 2>&1 &
stop_pid=$!
sleep 0.5
ready_while_draining=$(status_of /health/ready)
wait "$stop_pid"
stop_ms=$((($(date +%s%N) - stop_started) / 1000000))
wait "$curl_pid"
exit_code=$("$ENGINE" inspect --format '{{.State.ExitCode}}' "$NAME" 2>/dev/null)
say "     SIGTERM: readiness answered ${ready_while_draining:-000} while draining; stopped in ${stop_ms} ms, exit code $exit_code"
check "readiness is not 200 while draining" test "$ready_while_draining" != 200
check "the open stream finished with data: [DONE]" grep -q '^data: \[DONE\]' "$stream_out"
check "exit code 0 on SIGTERM" test "$exit_code" = 0
check "stopped within 15 s (not killed at the 20 s timeout)" test "$stop_ms" -lt 15000
finish
