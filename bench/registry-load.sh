#!/usr/bin/env bash
# Load benchmark of the registry (issue 3 targets), beside a minimal axum "hello" server
# built from the same dependencies, in one run on loopback:
#   - GET /schemas/ids/{id} and lookup POST /subjects/{s}: requests per second as a
#     fraction of hello's (target: at least 70 %);
#   - new-version registrations per second on SQLite with durable commits (target: 1,000);
#   - resident memory with 10,000 schemas registered (target: under 40 MB).
# With HERALD_BENCH_DATABASE_URL=postgres://… (an empty database, or one this script used
# before), it also starts two instances on that PostgreSQL database and measures the same
# reads through each alone and through both at once, against the SQLite instance's figures
# (issue 15 target: at least 85 %).
# Needs wrk (Debian package `wrk`) and curl. Usage: bench/registry-load.sh [seconds per run]
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
HELLO=127.0.0.1:18090
HERALD=127.0.0.1:18091
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build --release --quiet --bin herald --example hello
target/release/examples/hello "$HELLO" 2>/dev/null &
target/release/herald serve --listen "$HERALD" --data-dir "$WORK/data" --log warn &
HERALD_PID=$!
for _ in $(seq 50); do
  curl -sf "http://$HERALD/health" >/dev/null && curl -sf "http://$HELLO/" >/dev/null && break
  sleep 0.1
done

CT='Content-Type: application/vnd.schemaregistry.v1+json'
SCHEMA='{\"type\":\"record\",\"name\":\"Payment\",\"namespace\":\"com.acme\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"amount\",\"type\":\"double\"},{\"name\":\"currency\",\"type\":\"string\",\"default\":\"EUR\"}]}'
export LOOKUP_BODY="{\"schema\":\"$SCHEMA\"}"
ID=$(curl -sf -X POST -H "$CT" --data "$LOOKUP_BODY" "http://$HERALD/subjects/bench-value/versions" | sed 's/[^0-9]//g')

rps() { # wrk's requests per second, and the non-2xx count if any
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "$@" 2>&1)
  if grep -q "Non-2xx" <<<"$out"; then echo "ERROR: $(grep Non-2xx <<<"$out")" >&2; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", 100 * a / b }'; }

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | xargs); wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s"
# Warm both servers up, then measure hello before and after herald's runs; ratios are
# against the mean of the two, as the machine drifts.
wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "http://$HELLO/" >/dev/null 2>&1
wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "http://$HERALD/schemas/ids/$ID" >/dev/null 2>&1
HELLO_BEFORE=$(rps "http://$HELLO/")
BY_ID_RPS=$(rps "http://$HERALD/schemas/ids/$ID")
LOOKUP_RPS=$(rps -s bench/lookup.lua "http://$HERALD/subjects/bench-value")
HELLO_AFTER=$(rps "http://$HELLO/")
HELLO_RPS=$(awk -v a="$HELLO_BEFORE" -v b="$HELLO_AFTER" 'BEGIN { printf "%.0f", (a + b) / 2 }')
echo "hello                      $HELLO_RPS req/s (before: $HELLO_BEFORE, after: $HELLO_AFTER)"
echo "GET /schemas/ids/$ID        $BY_ID_RPS req/s  = $(ratio "$BY_ID_RPS" "$HELLO_RPS") of hello"
echo "POST /subjects/bench-value $LOOKUP_RPS req/s  = $(ratio "$LOOKUP_RPS" "$HELLO_RPS") of hello"

if [ -n "${HERALD_BENCH_DATABASE_URL:-}" ]; then
  # Two instances on one PostgreSQL database, read through both at once (half the
  # connections each): their sum against the one SQLite instance above, on the same cores.
  PG_A=127.0.0.1:18092
  PG_B=127.0.0.1:18093
  target/release/herald serve --listen "$PG_A" --data-dir "$WORK/pg-a" --database-url "$HERALD_BENCH_DATABASE_URL" --kafka-listen off --log warn &
  PG_A_PID=$!
  target/release/herald serve --listen "$PG_B" --data-dir "$WORK/pg-b" --database-url "$HERALD_BENCH_DATABASE_URL" --kafka-listen off --log warn &
  PG_B_PID=$!
  for _ in $(seq 50); do
    curl -sf "http://$PG_A/health" >/dev/null && curl -sf "http://$PG_B/health" >/dev/null && break
    sleep 0.1
  done
  PG_ID=$(curl -sf -X POST -H "$CT" --data "$LOOKUP_BODY" "http://$PG_A/subjects/bench-value/versions" | sed 's/[^0-9]//g')
  both() { # the summed req/s of one wrk run against each instance, side by side
    local path="$1"; shift
    local half=$(( (CONNECTIONS + 1) / 2 )) a
    a=$(CONNECTIONS=$half THREADS=1 rps "$@" "http://$PG_A$path" &
        CONNECTIONS=$half THREADS=1 rps "$@" "http://$PG_B$path" &
        wait)
    awk '{ s += $1 } END { printf "%.0f", s }' <<<"$a"
  }
  lesser() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (a < b ? a : b) }'; }
  # Each instance alone, as the SQLite one was measured (the lesser of the two counts), then
  # both at once sharing the same cores.
  wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "http://$PG_A/schemas/ids/$PG_ID" >/dev/null 2>&1
  wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "http://$PG_B/schemas/ids/$PG_ID" >/dev/null 2>&1
  PG_BY_ID_RPS=$(lesser "$(rps "http://$PG_A/schemas/ids/$PG_ID")" "$(rps "http://$PG_B/schemas/ids/$PG_ID")")
  PG_LOOKUP_RPS=$(lesser "$(rps -s bench/lookup.lua "http://$PG_A/subjects/bench-value")" \
                         "$(rps -s bench/lookup.lua "http://$PG_B/subjects/bench-value")")
  PAIR_BY_ID_RPS=$(both "/schemas/ids/$PG_ID")
  PAIR_LOOKUP_RPS=$(both "/subjects/bench-value" -s bench/lookup.lua)
  echo "PostgreSQL, each of two instances alone (the lesser):"
  echo "  GET /schemas/ids/$PG_ID        $PG_BY_ID_RPS req/s  = $(ratio "$PG_BY_ID_RPS" "$BY_ID_RPS") of SQLite's"
  echo "  POST /subjects/bench-value $PG_LOOKUP_RPS req/s  = $(ratio "$PG_LOOKUP_RPS" "$LOOKUP_RPS") of SQLite's"
  echo "PostgreSQL, both instances at once (summed; the same cores):"
  echo "  GET /schemas/ids/$PG_ID        $PAIR_BY_ID_RPS req/s  = $(ratio "$PAIR_BY_ID_RPS" "$BY_ID_RPS") of SQLite's"
  echo "  POST /subjects/bench-value $PAIR_LOOKUP_RPS req/s  = $(ratio "$PAIR_LOOKUP_RPS" "$LOOKUP_RPS") of SQLite's"
  kill "$PG_A_PID" "$PG_B_PID"; wait "$PG_A_PID" "$PG_B_PID" 2>/dev/null || true
fi

REGISTER_RPS=$(rps -s bench/register.lua "http://$HERALD")
echo "new-version registrations  $REGISTER_RPS per s (SQLite, WAL, synchronous=FULL)"

# Memory: a fresh registry filled with 10,000 schemas, then read for a while.
kill "$HERALD_PID"; wait "$HERALD_PID" 2>/dev/null || true
target/release/herald serve --listen "$HERALD" --data-dir "$WORK/memory" --log warn &
HERALD_PID=$!
for _ in $(seq 50); do curl -sf "http://$HERALD/health" >/dev/null && break; sleep 0.1; done
wrk -t1 -c10 -d60s -s bench/register.lua "http://$HERALD" -- 10000 >/dev/null 2>&1
COUNT=$(curl -sf "http://$HERALD/subjects/load-value/versions" | tr ',' '\n' | wc -l)
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "http://$HERALD/schemas/ids/1" >/dev/null 2>&1
echo "resident memory            $(awk '/VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$HERALD_PID/status") with $COUNT schemas registered"
