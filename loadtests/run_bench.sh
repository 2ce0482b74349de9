#!/usr/bin/env bash
# End-to-end room benchmark: start a server on this machine, run bench_rooms.py at a few rates,
# stop the server, print a table. Uses the local PostgreSQL and Redis (already running).
#
#   loadtests/run_bench.sh [--target boardroom|bare|bare-redis|all] [--rates "100 300 600 1000"]
#                          [--duration 20] [--warmup 5] [--rooms 50] [--processes 2]
#                          [--out results.jsonl] [--fresh-db] [--ref GIT_REF]
#                          [-- extra bench_rooms.py args]
#
# --ref runs Boardroom from `git archive GIT_REF` (e.g. HEAD) instead of the working tree, so a
# measurement names the exact code it measured and is immune to uncommitted edits in progress.
#
# Environment: PGHOST (127.0.0.1), PGUSER (postgres), BENCH_DB (boardroom_bench),
# REDIS_URL (redis://127.0.0.1:6379/0), BOARDROOM_PORT (8200), BARE_PORT (8300).
# Every server gets its own Redis channel, so other Boardroom servers sharing this Redis
# (the test suite, other benches) neither receive our traffic nor send us theirs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"

TARGET=all
RATES="100 300 600 1000"
DURATION=20
WARMUP=5
ROOMS=50
PROCESSES=2
OUT=""
FRESH_DB=0
REF=""
EXTRA=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --target) TARGET="$2"; shift 2 ;;
    --rates) RATES="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --rooms) ROOMS="$2"; shift 2 ;;
    --processes) PROCESSES="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --fresh-db) FRESH_DB=1; shift ;;
    --ref) REF="$2"; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "run_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

PGHOST="${PGHOST:-127.0.0.1}"
PGUSER="${PGUSER:-postgres}"
BENCH_DB="${BENCH_DB:-boardroom_bench}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
BOARDROOM_PORT="${BOARDROOM_PORT:-8200}"
BARE_PORT="${BARE_PORT:-8300}"
case "$PGHOST" in 127.0.0.1|localhost|::1) ;; *) echo "run_bench.sh: PGHOST must be local" >&2; exit 2 ;; esac
"$PY" -c 'import sys, urllib.parse as u; sys.exit(u.urlsplit(sys.argv[1]).hostname not in ("127.0.0.1", "localhost", "::1"))' \
  "$REDIS_URL" || { echo "run_bench.sh: REDIS_URL must point at this machine" >&2; exit 2; }
RUN_TAG="$(date +%Y%m%d-%H%M%S)-$$"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/boardroom-bench.XXXXXX")"
OUT="${OUT:-$WORK/results.jsonl}"
SERVER_PID=""
SRC="$ROOT"
if [[ -n "$REF" ]]; then
  COMMIT="$(git -C "$ROOT" rev-parse --verify "$REF^{commit}")"
  SRC="$WORK/src"
  mkdir -p "$SRC"
  git -C "$ROOT" archive "$COMMIT" | tar -x -C "$SRC"
fi

# Boardroom keeps a set of live sids per user in Redis under "<channel>:sids:"; delete ours.
cleanup_redis() {
  "$PY" - "$REDIS_URL" "boardroom-bench-$RUN_TAG:*" <<'PY' || true
import sys

import redis

r = redis.Redis.from_url(sys.argv[1])
keys = list(r.scan_iter(match=sys.argv[2], count=1000))
for i in range(0, len(keys), 500):
    r.delete(*keys[i : i + 500])
r.close()
PY
}

stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
trap 'stop_server; cleanup_redis' EXIT
trap 'exit 130' INT TERM

port_free() {
  ! "$PY" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}

wait_ready() {  # url log
  for _ in $(seq 1 300); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "run_bench.sh: the server exited; its log:" >&2; cat "$2" >&2; exit 1
    fi
    if "$PY" -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" \
        "$1/readyz" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "run_bench.sh: $1/readyz not ready after 30 s; log:" >&2; cat "$2" >&2; exit 1
}

prepare_db() {
  if [[ "$FRESH_DB" == 1 ]]; then
    psql -h "$PGHOST" -U "$PGUSER" -qc "DROP DATABASE IF EXISTS $BENCH_DB" >/dev/null
  fi
  if ! psql -h "$PGHOST" -U "$PGUSER" -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$BENCH_DB'" | grep -q 1; then
    psql -h "$PGHOST" -U "$PGUSER" -qc "CREATE DATABASE $BENCH_DB" >/dev/null
  fi
}

start_boardroom() {
  port_free "$BOARDROOM_PORT" || { echo "port $BOARDROOM_PORT is in use" >&2; exit 1; }
  local secret
  secret="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')"
  DATABASE_URL="postgresql://$PGUSER@$PGHOST:5432/$BENCH_DB" \
  REDIS_URL="$REDIS_URL" \
  BOARDROOM_REDIS_CHANNEL="boardroom-bench-$RUN_TAG" \
  BOARDROOM_JWT_SECRET="$secret" \
  BOARDROOM_RATE_LIMIT_PER_SECOND=100000 BOARDROOM_RATE_LIMIT_BURST=100000 \
  BOARDROOM_RATE_LIMIT_ACCOUNT_PER_SECOND=100000 BOARDROOM_RATE_LIMIT_ACCOUNT_BURST=100000 \
  BOARDROOM_AUTH_ATTEMPTS_PER_MINUTE_PER_ADDRESS=100000 \
  PYTHONPATH="$SRC" \
    bash -c 'cd "$1" && exec "$2" -m realtime.cli serve --migrate --port "$3"' _ \
      "$SRC" "$PY" "$BOARDROOM_PORT" >>"$WORK/boardroom.log" 2>&1 &
  SERVER_PID=$!
  wait_ready "http://127.0.0.1:$BOARDROOM_PORT" "$WORK/boardroom.log"
}

start_bare() {  # none|redis
  port_free "$BARE_PORT" || { echo "port $BARE_PORT is in use" >&2; exit 1; }
  local args=(--port "$BARE_PORT")
  if [[ "$1" == redis ]]; then
    args+=(--redis-url "$REDIS_URL" --redis-channel "bare-bench-$RUN_TAG")
  fi
  "$PY" loadtests/bare_server.py "${args[@]}" >>"$WORK/bare.log" 2>&1 &
  SERVER_PID=$!
  wait_ready "http://127.0.0.1:$BARE_PORT" "$WORK/bare.log"
}

# One fresh server per rate: a saturated run leaves a backlog the server keeps working on after
# the clients leave, which would otherwise leak into the next run.
run_target() {
  local label port start
  case "$1" in
    boardroom) label=boardroom; port="$BOARDROOM_PORT"; start=(start_boardroom); prepare_db ;;
    bare) label=bare; port="$BARE_PORT"; start=(start_bare none) ;;
    bare-redis) label=bare+redis; port="$BARE_PORT"; start=(start_bare redis) ;;
    *) echo "run_bench.sh: unknown target $1" >&2; exit 2 ;;
  esac
  for rate in $RATES; do
    "${start[@]}"
    "$PY" loadtests/bench_rooms.py --url "http://127.0.0.1:$port" --label "$label" \
      --rooms "$ROOMS" --rate "$rate" --duration "$DURATION" --warmup "$WARMUP" \
      --processes "$PROCESSES" --server-pid "$SERVER_PID" --json-out "$OUT" \
      ${EXTRA[@]+"${EXTRA[@]}"} || echo "run_bench.sh: $label at $rate ops/s failed" >&2
    stop_server
    sleep 2
  done
}

echo "# $(date -Is) on $(nproc) CPUs, loadavg $(cut -d' ' -f1-3 /proc/loadavg); results: $OUT"
if [[ "$TARGET" == boardroom || "$TARGET" == all ]]; then
  if [[ -n "$REF" ]]; then
    echo "# boardroom from $REF = $COMMIT (git archive in $SRC)"
  else
    echo "# boardroom from the working tree at $(git -C "$ROOT" rev-parse --short HEAD)" \
      "($(git -C "$ROOT" status --porcelain | grep -vc '^??' || true) modified tracked files)"
  fi
fi
if [[ "$TARGET" == all ]]; then
  for t in boardroom bare-redis bare; do run_target "$t"; done
else
  run_target "$TARGET"
fi
echo
"$PY" loadtests/summarize.py "$OUT"
echo "(server logs in $WORK)"
