#!/usr/bin/env bash
# Herald's Kafka listener beside Apache Kafka itself (issue 14), in one run on loopback, both
# driven by Kafka's own performance tools (the Java client) with the same settings:
#   - cold start: from exec until the Kafka port accepts a connection;
#   - produce: ProducerPerformance, 1 KiB records, acks=all, one partition; Herald in `sync`
#     durability (fdatasync before the ack) and in `interval` durability; Kafka acknowledges
#     before any fsync (its default);
#   - produce latency at 5,000 records/s: ProducerPerformance --throughput 5000 (p50/p99 of
#     the acknowledgements);
#   - end-to-end latency: EndToEndLatency (one record at a time, produce to consume, p99);
#   - consume: ConsumerPerformance reading everything back from the page cache (its fetch
#     rates, which leave out the group join);
#   - memory: each server's peak resident set (VmHWM) at the end.
# Kafka (kafka_2.13 and kafka-tools from Maven Central) is fetched once into
# bench/kafka/target/lib by Maven (~/.m2 keeps it). Needs java and mvn.
# Usage: bench/kafka-compare.sh [records, default 200000]
# HERALD_BIN=path uses that binary instead of building target/release/herald.
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS="${1:-200000}"
KAFKA=127.0.0.1:39092
KAFKA_CONTROLLER=127.0.0.1:39093
HERALD_HTTP=127.0.0.1:39181
HERALD_KAFKA=127.0.0.1:39192
WORK="$(mktemp -d -p "${BENCH_DIR:-$PWD/target}")"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${HERALD_BIN:-}" ]; then
  cargo build --release --quiet --bin herald
  HERALD_BIN=target/release/herald
fi
mvn -q -B -o -f bench/kafka/pom.xml dependency:copy-dependencies >/dev/null 2>&1 ||
  mvn -q -B -f bench/kafka/pom.xml dependency:copy-dependencies
CP="$PWD/bench/kafka/target/lib/*"
tool() { java -Xmx512m -cp "$CP" "org.apache.kafka.tools.$1" "${@:2}" 2>/dev/null; }

now_ms() { date +%s%3N; }
wait_port() { # host:port → waits until it accepts, at most 60 s
  for _ in $(seq 600); do
    (echo >"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1 after 60 s" >&2
  return 1
}
peak_rss() { awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$1/status"; }

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | xargs)"
echo "records: $RECORDS of 1 KiB, acks=all, one partition, Kafka's Java client $(basename "$(ls bench/kafka/target/lib/kafka-clients-*.jar)" .jar)"

# --- Apache Kafka: one KRaft node (broker and controller), storage formatted before the clock.
cat >"$WORK/kafka.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_CONTROLLER
listeners=PLAINTEXT://$KAFKA,CONTROLLER://$KAFKA_CONTROLLER
advertised.listeners=PLAINTEXT://$KAFKA
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$WORK/kafka-data
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF
java -cp "$CP" kafka.tools.StorageTool format -t "$(java -cp "$CP" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)" \
  -c "$WORK/kafka.properties" >/dev/null 2>&1
START=$(now_ms)
java -Xms1g -Xmx1g -cp "$CP" kafka.Kafka "$WORK/kafka.properties" >"$WORK/kafka.log" 2>&1 &
KAFKA_PID=$!
PIDS+=("$KAFKA_PID")
wait_port "$KAFKA"
KAFKA_START=$(($(now_ms) - START))

# --- Herald: the same topic in each durability mode.
START=$(now_ms)
"$HERALD_BIN" serve --listen "$HERALD_HTTP" --kafka-listen "$HERALD_KAFKA" --data-dir "$WORK/herald-data" --log warn &
HERALD_PID=$!
PIDS+=("$HERALD_PID")
wait_port "$HERALD_KAFKA"
HERALD_START=$(($(now_ms) - START))
CT='Content-Type: application/json'
curl -sf -X POST -H "$CT" --data '{"name":"sync","partitions":1,"validation":"off"}' "http://$HERALD_HTTP/topics" >/dev/null
curl -sf -X POST -H "$CT" --data '{"name":"interval","partitions":1,"validation":"off","durability":{"mode":"interval","interval_ms":5}}' \
  "http://$HERALD_HTTP/topics" >/dev/null
tool TopicCommand --bootstrap-server "$KAFKA" --create --topic sync --partitions 1 --replication-factor 1 >/dev/null
for t in latency e2e; do
  curl -sf -X POST -H "$CT" --data "{\"name\":\"$t\",\"partitions\":1,\"validation\":\"off\"}" "http://$HERALD_HTTP/topics" >/dev/null
  tool TopicCommand --bootstrap-server "$KAFKA" --create --topic "$t" --partitions 1 --replication-factor 1 >/dev/null
done

produce() { # bootstrap topic [throughput] → ProducerPerformance's summary line
  tool ProducerPerformance --topic "$2" --num-records "${4:-$RECORDS}" --record-size 1024 --throughput "${3:--1}" \
    --producer-props "bootstrap.servers=$1" acks=all linger.ms=5 batch.size=262144 | tail -1
}
consume() { # bootstrap topic → fetch throughput, the group join left out
  tool ConsumerPerformance --bootstrap-server "$1" --topic "$2" --num-records "$RECORDS" --timeout 60000 |
    awk -F', ' '/^[0-9]/ { printf "%.1f MB/s, %.0f records/s (%s records)", $9, $10, $5 }'
}
summary() { # ProducerPerformance's line → "records/s (MB/s), p50, p99"
  awk -F', ' '{ split($2, r, " "); split($5, a, " "); split($7, b, " "); mb = $2; sub(/.*\(/, "", mb); sub(/\).*/, "", mb)
    printf "%.0f records/s (%s), p50 %s ms, p99 %s ms", r[1], mb, a[1], b[1] }'
}
e2e() { # bootstrap topic → EndToEndLatency's percentiles over 2,000 round trips
  tool EndToEndLatency --bootstrap-server "$1" --topic "$2" --num-records 2000 --producer-acks all --record-size 1024 |
    awk '/Percentiles/ { sub(/Percentiles: /, ""); print $0 " (ms)" }'
}

echo
printf '%-34s %-22s %s\n' "" "Herald" "Kafka"
printf '%-34s %-22s %s\n' "cold start to Kafka port open" "${HERALD_START} ms" "${KAFKA_START} ms"
HERALD_SYNC=$(produce "$HERALD_KAFKA" sync | summary)
HERALD_INTERVAL=$(produce "$HERALD_KAFKA" interval | summary)
KAFKA_SYNC=$(produce "$KAFKA" sync | summary)
echo "produce, acks=all:"
echo "  Herald, sync (fdatasync first):  $HERALD_SYNC"
echo "  Herald, interval 5 ms:           $HERALD_INTERVAL"
echo "  Kafka (acks before fsync):       $KAFKA_SYNC"
echo "produce at 5,000 records/s:"
echo "  Herald, sync:                    $(produce "$HERALD_KAFKA" latency 5000 50000 | summary)"
echo "  Kafka:                           $(produce "$KAFKA" latency 5000 50000 | summary)"
echo "end-to-end, one record at a time:"
echo "  Herald, sync:                    $(e2e "$HERALD_KAFKA" e2e)"
echo "  Kafka:                           $(e2e "$KAFKA" e2e)"
echo "consume, from the page cache:"
echo "  Herald:                          $(consume "$HERALD_KAFKA" sync)"
echo "  Kafka:                           $(consume "$KAFKA" sync)"
printf '%-34s %-22s %s\n' "peak resident memory" "$(peak_rss "$HERALD_PID")" "$(peak_rss "$KAFKA_PID")"
