#!/usr/bin/env bash
# Registration with declared reader contracts (issue 19 target: with ten contracts on the
# subject, registrations per second within 2x of a subject without any), side by side in
# one run on one server: subject `plain-value` has no contract, `load-value` has ten (five
# field lists, five reader schemas), each judged on every registration. Runs alternate
# (plain, contracts, plain, contracts) and each side's figure is the mean of its two runs.
# Needs wrk and curl. Usage: bench/reader-contracts.sh [seconds per run]
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
HERALD=127.0.0.1:18095
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build --release --quiet --bin herald
target/release/herald serve --listen "$HERALD" --data-dir "$WORK/data" --kafka-listen off --log warn &
for _ in $(seq 50); do
  curl -sf "http://$HERALD/health" >/dev/null && break
  sleep 0.1
done

CT='Content-Type: application/vnd.schemaregistry.v1+json'
V1='{\"type\":\"record\",\"name\":\"Load\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"n\",\"type\":\"long\",\"default\":0}]}'
for subject in plain-value load-value; do
  curl -sf -X POST -H "$CT" --data "{\"schema\":\"$V1\"}" "http://$HERALD/subjects/$subject/versions" >/dev/null
done
READER='{\"type\":\"record\",\"name\":\"Load\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}'
for i in $(seq 1 10); do
  if [ $((i % 2)) -eq 0 ]; then body="{\"schema\":\"$READER\"}"; else body='{"fields":["id","n"]}'; fi
  curl -sf -X PUT -H "$CT" --data "$body" "http://$HERALD/herald/v1/consumers/group-$i/contracts/load-value" >/dev/null
done
echo "contracts on load-value: $(curl -sf "http://$HERALD/herald/v1/contracts?subject=load-value" | grep -o '"group"' | wc -l)"

rps() {
  local out
  out=$(SUBJECT="$1" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s bench/register.lua "http://$HERALD" 2>&1)
  if grep -q "answered" <<<"$out"; then echo "ERROR: $(grep -m1 answered <<<"$out")" >&2; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | xargs); wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s"
SUBJECT=plain-value wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s bench/register.lua "http://$HERALD" >/dev/null 2>&1
P1=$(rps plain-value); C1=$(rps load-value); P2=$(rps plain-value); C2=$(rps load-value)
PLAIN=$(awk -v a="$P1" -v b="$P2" 'BEGIN { printf "%.0f", (a + b) / 2 }')
CONTRACTS=$(awk -v a="$C1" -v b="$C2" 'BEGIN { printf "%.0f", (a + b) / 2 }')
echo "no contracts     $PLAIN registrations/s ($P1, $P2)"
echo "ten contracts    $CONTRACTS registrations/s ($C1, $C2)"
awk -v a="$PLAIN" -v b="$CONTRACTS" 'BEGIN { printf "slowdown: %.2fx (target: at most 2x)\n", a / b }'
