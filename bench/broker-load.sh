#!/usr/bin/env bash
# Load benchmark of the broker (issue 4), in one run on loopback:
#   - the disk's own bandwidth with one fdatasync per MiB (fio), just before;
#   - produce throughput: records of 1 KiB in batches of 100, 4 concurrent producers,
#     acknowledged after fdatasync (binary format);
#   - the same with JSON values, without and with JSON Schema validation (ratio);
#   - NATS JetStream (127.0.0.1:4222, file storage) publishing the same records through the
#     async-nats crate (bench/jetstream, a package of its own);
#   - consuming from the page cache: partition reads of 8 MiB;
#   - end-to-end latency at 5,000 records/s (bench/e2e-latency.py).
# Needs wrk and fio (Debian packages), and a Python with `requests` ($PYTHON, default python3).
# Usage: bench/broker-load.sh [seconds per run]
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-10}"
HERALD=127.0.0.1:18092
WORK="$(mktemp -d -p "${BENCH_DIR:-$PWD/target}")"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build --release --quiet --bin herald

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | xargs)"
FIO=$(fio --name=disk --directory="$WORK" --ioengine=psync --rw=write --bs=1M --size=512M --fdatasync=1 2>&1 | awk '/WRITE: bw=/ {print $2}' | sed 's/bw=//; s/,$//')
rm -f "$WORK"/disk*
echo "fio, 1 MiB per fdatasync:       $FIO"

target/release/herald serve --listen "$HERALD" --data-dir "$WORK/data" --log warn &
for _ in $(seq 50); do curl -sf "http://$HERALD/health" >/dev/null && break; sleep 0.1; done
CT='Content-Type: application/json'
curl -sf -X POST -H "$CT" --data '{"name":"bench","partitions":4}' "http://$HERALD/topics" >/dev/null
curl -sf -X POST -H "$CT" --data '{"name":"plain","partitions":4}' "http://$HERALD/topics" >/dev/null
curl -sf -X POST -H "$CT" --data '{"name":"checked","partitions":4}' "http://$HERALD/topics" >/dev/null
curl -sf -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
  --data '{"schemaType":"JSON","schema":"{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"pad\":{\"type\":\"string\",\"maxLength\":5000}},\"required\":[\"id\",\"pad\"]}"}' \
  "http://$HERALD/subjects/checked-value/versions" >/dev/null

produce() { # topic format → "records/s MB/s"
  local out rps
  out=$(TOPIC_PATH="/topics/$1" FORMAT="$2" RECORDS=100 SIZE=1024 \
    wrk -t2 -c4 -d"${DURATION}s" -s bench/produce.lua "http://$HERALD" 2>&1)
  if grep -q "Non-2xx" <<<"$out"; then echo "ERROR: $(grep Non-2xx <<<"$out")" >&2; fi
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  awk -v r="$rps" 'BEGIN { printf "%.0f records/s, %.1f MB/s of record data", r * 100, r * 100 * 1024 / 1e6 }'
}
echo "produce, binary, 4 producers:   $(produce bench binary)"
if (echo > /dev/tcp/127.0.0.1/4222) 2>/dev/null; then
  (cd bench/jetstream && cargo build --release --quiet)
  echo "JetStream, 4 publishers:        $(bench/jetstream/target/release/jetstream-load nats://127.0.0.1:4222 "$DURATION" 4 100 1024)"
else
  echo "JetStream: no server at 127.0.0.1:4222"
fi
PLAIN=$(produce plain json)
CHECKED=$(produce checked json)
echo "produce, JSON, no schema:       $PLAIN"
echo "produce, JSON, validated:       $CHECKED"
awk -v a="${CHECKED%% *}" -v b="${PLAIN%% *}" 'BEGIN { printf "validation keeps %.0f %% of the throughput\n", 100 * a / b }'

OUT=$(wrk -t2 -c2 -d"${DURATION}s" "http://$HERALD/topics/bench/partitions/0/records?offset=0&max_bytes=8388608&format=binary" 2>&1)
echo "consume, partition reads:       $(awk '/Transfer\/sec/ {print $2}' <<<"$OUT") of responses ($(awk '/Requests\/sec/ {print $2}' <<<"$OUT") reads/s)"
echo "end to end at 5,000 records/s:  $("${PYTHON:-python3}" bench/e2e-latency.py "http://$HERALD" 5000 "$DURATION")"
