#!/usr/bin/env bash
# Two herald binaries side by side in one run, for "this change costs no more than N %":
# registry reads (GET /schemas/ids/{id}, lookups), new-version registrations, broker produce
# (binary, and JSON validated against a JSON Schema) and partition reads. Each measurement
# alternates the binaries ROUNDS times (A B A B …) so the machine's drift falls on both; the
# figure per binary is the median of its rounds, and the last column is B as a share of A.
# Needs wrk and curl. Usage: [ROUNDS=3] [MEASURES="by-id produce"] bench/compare.sh BASE_BINARY NEW_BINARY [seconds per run]
set -euo pipefail
cd "$(dirname "$0")/.."

A="$1"
B="$2"
DURATION="${3:-5}"
ROUNDS="${ROUNDS:-3}"
ADDRESS="${ADDRESS:-127.0.0.1:18093}"
WORK="$(mktemp -d -p "${BENCH_DIR:-$PWD/target}")"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

PID=
start() { # binary data-dir
  "$1" serve --listen "$ADDRESS" --data-dir "$2" --log warn &
  PID=$!
  for _ in $(seq 100); do curl -sf "http://$ADDRESS/health" >/dev/null && return; sleep 0.05; done
  echo "server did not start" >&2
  exit 1
}
stop() {
  kill "$PID"
  wait "$PID" 2>/dev/null || true
}

SR='Content-Type: application/vnd.schemaregistry.v1+json'
SCHEMA='{\"type\":\"record\",\"name\":\"Payment\",\"namespace\":\"com.acme\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"amount\",\"type\":\"double\"},{\"name\":\"currency\",\"type\":\"string\",\"default\":\"EUR\"}]}'
export LOOKUP_BODY="{\"schema\":\"$SCHEMA\"}"

# One data directory per binary, set up once: a schema to read, topics to produce to.
setup() { # binary dir
  start "$1" "$2"
  curl -sf -X POST -H "$SR" --data "$LOOKUP_BODY" "http://$ADDRESS/subjects/bench-value/versions" >/dev/null
  for topic in records checked; do
    curl -sf -X POST -H 'Content-Type: application/json' --data "{\"name\":\"$topic\",\"partitions\":4}" \
      "http://$ADDRESS/topics" >/dev/null
  done
  curl -sf -X POST -H "$SR" \
    --data '{"schemaType":"JSON","schema":"{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"pad\":{\"type\":\"string\",\"maxLength\":5000}},\"required\":[\"id\",\"pad\"]}"}' \
    "http://$ADDRESS/subjects/checked-value/versions" >/dev/null
  # Something to read: 8 MiB or more in partition 0.
  for _ in $(seq 3); do
    TOPIC_PATH=/topics/records/partitions/0 FORMAT=binary RECORDS=100 SIZE=1024 \
      wrk -t1 -c1 -d1s -s bench/produce.lua "http://$ADDRESS" >/dev/null 2>&1
  done
  stop
}
setup "$A" "$WORK/a"
setup "$B" "$WORK/b"

wrk_rps() { # wrk args… → requests/s (and a warning on errors)
  local out
  out=$(wrk "$@" 2>&1)
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "warning: $(grep 'Non-2xx\|Socket errors' <<<"$out")" >&2; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}

measure() { # name → one figure for the server on $ADDRESS
  case "$1" in
    by-id) wrk_rps -t2 -c32 -d"${DURATION}s" "http://$ADDRESS/schemas/ids/1" ;;
    lookup) wrk_rps -t2 -c32 -d"${DURATION}s" -s bench/lookup.lua "http://$ADDRESS/subjects/bench-value" ;;
    register) wrk_rps -t2 -c32 -d"${DURATION}s" -s bench/register.lua "http://$ADDRESS" ;;
    produce) TOPIC_PATH=/topics/records FORMAT=binary RECORDS=100 SIZE=1024 \
      wrk_rps -t2 -c4 -d"${DURATION}s" -s bench/produce.lua "http://$ADDRESS" | awk '{print $1 * 100}' ;;
    validated) TOPIC_PATH=/topics/checked FORMAT=json RECORDS=100 SIZE=1024 \
      wrk_rps -t2 -c4 -d"${DURATION}s" -s bench/produce.lua "http://$ADDRESS" | awk '{print $1 * 100}' ;;
    reads) wrk_rps -t2 -c2 -d"${DURATION}s" \
      "http://$ADDRESS/topics/records/partitions/0/records?offset=0&max_bytes=8388608&format=binary" ;;
  esac
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | xargs); ${DURATION}s runs, $ROUNDS rounds each, medians"
echo "A: $A"
echo "B: $B"
printf '%-44s %14s %14s %8s\n' measurement A B "B/A"
for name in ${MEASURES:-by-id lookup register produce validated reads}; do
  figures_a=""
  figures_b=""
  for _ in $(seq "$ROUNDS"); do
    start "$A" "$WORK/a"; figures_a="$figures_a $(measure "$name")"; stop
    start "$B" "$WORK/b"; figures_b="$figures_b $(measure "$name")"; stop
  done
  a=$(median <<<"$figures_a")
  b=$(median <<<"$figures_b")
  case "$name" in
    by-id) label="GET /schemas/ids/1 (req/s)" ;;
    lookup) label="POST /subjects/bench-value lookup (req/s)" ;;
    register) label="new-version registrations (per s)" ;;
    produce) label="produce, binary, 4 producers (records/s)" ;;
    validated) label="produce, JSON validated (records/s)" ;;
    reads) label="partition reads of 8 MiB (reads/s)" ;;
  esac
  printf '%-44s %14.0f %14.0f %7.1f%%\n' "$label" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN {print 100 * b / a}')"
done
