#!/usr/bin/env bash
# Instructions per call of one side of a micro-ts RPC (unary echo, c=64 unless CONCURRENCY says), counted by callgrind:
# deterministic to about 1 %, where CPU time on a shared machine moves by tens of percent.
#
#   bench/instructions/run.sh server|client tcp|http [calls]
#
# Environment: WARM (warm-up calls, default 60000), PAYLOAD (bytes, default 1024), CONCURRENCY
# (callers at once, default 64), PROPAGATE=1 (the server propagates contexts, as a process with a
# client does), OUT (a path to keep callgrind's output file at, for callgrind_annotate). Needs valgrind and built packages (npm run
# build). Kernel time (system calls) is not counted: only user-space work.
set -euo pipefail
side=${1:?usage: run.sh server|client tcp|http [calls]}
export TRANSPORT=${2:?usage: run.sh server|client tcp|http [calls]}
export CALLS=${3:-10000} WARM=${WARM:-60000}
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
grind=(valgrind --tool=callgrind --instr-atstart=no --smc-check=all-non-file --callgrind-out-file="$tmp/out"
  node --single-threaded)
wait_address() { for _ in $(seq 1 600); do [ -s "$tmp/address" ] && return; sleep 0.5; done; echo "no server address" >&2; exit 1; }
if [ "$side" = server ]; then
  "${grind[@]}" "$here/server.mjs" >"$tmp/address" 2>"$tmp/valgrind.log" &
  measured=$!
  wait_address
  MEASURE_PID=$measured node "$here/client.mjs" "$(head -1 "$tmp/address")"
  kill -TERM "$measured"
  wait "$measured" || true
else
  node "$here/server.mjs" >"$tmp/address" &
  wait_address
  MEASURE_PID=self "${grind[@]}" "$here/client.mjs" "$(head -1 "$tmp/address")" >/dev/null 2>"$tmp/valgrind.log"
fi
total=$(awk '/^totals:/ {print $2}' "$tmp/out")
if [ -n "${OUT:-}" ]; then cp "$tmp/out" "$OUT"; fi
echo "$side over $TRANSPORT: $((total / CALLS)) instructions per call ($CALLS calls after $WARM of warm-up)"
