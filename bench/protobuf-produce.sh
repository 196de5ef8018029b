#!/usr/bin/env bash
# What produce-time Protobuf validation costs (issue 17): librdkafka (bench/kafka-client.py)
# produces the same ~1 KiB framed Protobuf records to a topic with validation `full` (the
# message index resolved, the message decoded with prost-reflect) and to one with validation
# off, in alternating rounds against one `herald serve` (release build of this tree) on
# loopback; acks=all, `sync` durability. Prints records/s per round and the ratio.
# Needs a Python with confluent-kafka ($PYTHON).
# Usage: [RECORDS=200000] [ROUNDS=3] [PYTHON=…] [HERALD_BIN=…] bench/protobuf-produce.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS="${RECORDS:-200000}"
ROUNDS="${ROUNDS:-3}"
PYTHON="${PYTHON:-$PWD/target/ci-python/bin/python}"
HTTP=127.0.0.1:28195
KAFKA=127.0.0.1:29194
PARTITIONS=4
mkdir -p target
WORK="$(mktemp -d -p target)"
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${HERALD_BIN:-}" ]; then
  cargo build --release --quiet --bin herald
  HERALD_BIN="${CARGO_TARGET_DIR:-target}/release/herald"
fi
client() { "$PYTHON" bench/kafka-client.py "$@"; }

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | xargs); herald $(git rev-parse --short HEAD)"
"$HERALD_BIN" serve --data-dir "$WORK/data" --listen "$HTTP" --kafka-listen "$KAFKA" >"$WORK/serve.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf "http://$HTTP/health/ready" >/dev/null && break; sleep 0.1; done

SCHEMA=$(client protobuf-payloads "$WORK/pb.payloads" 1)
ID=$(curl -sf -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
  --data "$(jq -n --arg s "$SCHEMA" '{schemaType: "PROTOBUF", schema: $s}')" \
  "http://$HTTP/subjects/pb-full-value/versions" | jq .id)
if [ "$ID" != 1 ]; then client protobuf-payloads "$WORK/pb.payloads" "$ID" >/dev/null; fi

topic() {
  curl -sf -X POST -H 'Content-Type: application/json' --data "$2" "http://$HTTP/topics" >/dev/null
}
printf '%-8s %-22s %-22s %s\n' round "validation off" "validation full" "full / off"
for r in $(seq "$ROUNDS"); do
  topic off "{\"name\":\"pb-off$r\",\"partitions\":$PARTITIONS,\"validation\":\"off\"}"
  topic full "{\"name\":\"pb-full$r\",\"partitions\":$PARTITIONS,\"validation\":\"full\",\"value_subject\":\"pb-full-value\"}"
  off=$(client produce "$KAFKA" "pb-off$r" "$RECORDS" --payload-file "$WORK/pb.payloads")
  full=$(client produce "$KAFKA" "pb-full$r" "$RECORDS" --payload-file "$WORK/pb.payloads")
  ratio=$(awk -v f="${full%% *}" -v o="${off%% *}" 'BEGIN { printf "%.2f×", f / o }')
  printf '%-8s %-22s %-22s %s\n' "$r" "${off%%,*}" "${full%%,*}" "$ratio"
  curl -sf -X DELETE "http://$HTTP/topics/pb-off$r" >/dev/null
  curl -sf -X DELETE "http://$HTTP/topics/pb-full$r" >/dev/null
done
