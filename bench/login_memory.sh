#!/usr/bin/env bash
# Resident memory of the real binary around a login flood (docs/performance.md, "Memory").
#
#   cargo build --release -p aios-server && bench/login_memory.sh
#
# Starts target/release/aios-server (or $BIN) on SQLite in a temporary DATA_DIR, reads the idle
# VmRSS once it is up (before any request), registers one user, runs $LOGINS (1000) logins from
# $CLIENTS (50) concurrent curl clients, waits $SETTLE_SECS (5), and prints idle, peak (VmHWM)
# and settled VmRSS in MiB.
# Extra environment (PASSWORD_HASH_CONCURRENCY, MALLOC_ARENA_MAX...) is passed to the server.
set -euo pipefail

BIN=${BIN:-target/release/aios-server}
LOGINS=${LOGINS:-1000}
CLIENTS=${CLIENTS:-50}
SETTLE_SECS=${SETTLE_SECS:-5}
PORT=${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
DATA=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$DATA"' EXIT

DATA_DIR=$DATA HOST=127.0.0.1 PORT=$PORT LOG_LEVEL=warn \
  RATE_LIMIT_AUTH_PER_MIN=1000000 RATE_LIMIT_ANON_PER_MIN=1000000 \
  "$BIN" serve >"$DATA/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 300); do
  curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break
  sleep 0.1
done

rss() { awk -v f="$1:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$PID/status"; }

sleep 2
IDLE=$(rss VmRSS)
BODY='{"email":"bench@example.com","password":"a long benchmark passphrase"}'
curl -fs -o /dev/null -H 'Content-Type: application/json' -d "$BODY" \
  "http://127.0.0.1:$PORT/api/auth/register"

export BODY PORT
START=$(date +%s.%N)
seq 1 "$LOGINS" | xargs -P "$CLIENTS" -I{} sh -c \
  'curl -s -o /dev/null -w "%{http_code}\n" -H "Content-Type: application/json" -d "$BODY" "http://127.0.0.1:$PORT/api/auth/login"' \
  >"$DATA/codes"
END=$(date +%s.%N)
OK=$(grep -c '^200$' "$DATA/codes" || true)
PEAK=$(rss VmHWM)
sleep "$SETTLE_SECS"
SETTLED=$(rss VmRSS)

printf 'logins: %s ok of %s (%s clients) in %.1f s\n' "$OK" "$LOGINS" "$CLIENTS" "$(echo "$END - $START" | bc)"
printf 'RSS idle %s MiB, peak %s MiB, settled after %s s %s MiB (settled - idle = %.1f MiB)\n' \
  "$IDLE" "$PEAK" "$SETTLE_SECS" "$SETTLED" "$(echo "$SETTLED - $IDLE" | bc)"
