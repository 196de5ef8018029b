#!/usr/bin/env bash
# Herald's Kafka listener side by side with Apache Kafka 4.x (issue 14), in one run on loopback:
#   - the disk's own bandwidth with one fdatasync per MiB (fio), just before;
#   - Apache Kafka from Maven Central (bench/kafka/pom.xml, cached in ~/.m2): one KRaft node,
#     process.roles=broker,controller, data under a temp dir, Kafka's defaults otherwise (it
#     acknowledges before fsync: log.flush.interval.messages is unbounded by default), except
#     the replication factors of its internal topics, which must be 1 on one node, and
#     file.delete.delay.ms=0, so deleted bench topics free the (small) disk at once;
#   - `herald serve` (release build of this tree) with --kafka-listen, topics created over
#     HTTP with validation off, `sync` durability (acknowledged after fdatasync), and one with
#     `interval` durability (10 ms);
#   - for both, with the same clients and settings (1 KiB records, acks=all): Kafka's own
#     ProducerPerformance and ConsumerPerformance (kafka-tools), and librdkafka
#     (confluent-kafka, bench/kafka-client.py); rounds alternate Kafka and Herald;
#   - end-to-end latency at 5,000 records/s; resident memory after the runs; cold start to the
#     first acknowledged produce (a restart on an existing one-topic data directory);
#   - Herald only: Avro `full` validation against a validation-off topic, same payloads;
#   - 1,000 partitions (10 topics × 100), keyed records spread over all of them.
# Needs java 17+, mvn, fio and a Python with confluent-kafka ($PYTHON).
# Usage: [RECORDS=300000] [ROUNDS=2] [PYTHON=…] [HERALD_BIN=an already built herald] bench/kafka-compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS="${RECORDS:-300000}"
ROUNDS="${ROUNDS:-2}"
PYTHON="${PYTHON:-/work/main/target/ci-python/bin/python}"
KAFKA=127.0.0.1:29092
KAFKA_CONTROLLER=127.0.0.1:29093
HERALD_HTTP=127.0.0.1:28095
HERALD=127.0.0.1:29094
PARTITIONS=4
mkdir -p "${BENCH_DIR:-$PWD/target}"
WORK="$(mktemp -d -p "${BENCH_DIR:-$PWD/target}")"
KAFKA_PID=
HERALD_PID=
cleanup() {
  for pid in $KAFKA_PID $HERALD_PID; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${HERALD_BIN:-}" ]; then
  cargo build --release --quiet --bin herald
  HERALD_BIN="${CARGO_TARGET_DIR:-target}/release/herald"
  HERALD_VERSION="$(git rev-parse --short HEAD)"
else
  HERALD_VERSION="$HERALD_BIN (given)"
fi
(cd bench/kafka && mvn -q dependency:copy-dependencies -DoutputDirectory=target/lib)
CP="$PWD/bench/kafka/target/lib/*"
KAFKA_VERSION=$(ls bench/kafka/target/lib | sed -n 's/^kafka_2.13-\(.*\)\.jar$/\1/p')
# The JVM settings kafka-server-start.sh and kafka-run-class.sh use.
KAFKA_JVM=(-Xmx1G -Xms1G -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
  -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true)
TOOL_JVM=(-Xmx512M -server -XX:+UseG1GC -Djava.awt.headless=true)
tool() { java "${TOOL_JVM[@]}" -cp "$CP" "$@"; }
client() { "$PYTHON" bench/kafka-client.py "$@"; }

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "Kafka $KAFKA_VERSION ($(java -version 2>&1 | head -1)), Herald $HERALD_VERSION, $RECORDS records of 1 KiB per run, $ROUNDS rounds"
FIO=$(fio --name=disk --directory="$WORK" --ioengine=psync --rw=write --bs=1M --size=512M --fdatasync=1 2>&1 |
  awk '/WRITE: bw=/ {print $2, $3}' | sed 's/bw=//; s/,$//')
rm -f "$WORK"/disk*
echo "fio, 1 MiB per fdatasync: $FIO"
FIO_MBS=$(sed -n 's/.*(\([0-9.]*\)MB\/s).*/\1/p' <<<"$FIO")

# ---- servers ----------------------------------------------------------------------------
kafka_config() { # dir → server.properties in it
  cat >"$1/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$KAFKA_CONTROLLER
listeners=PLAINTEXT://$KAFKA,CONTROLLER://$KAFKA_CONTROLLER
advertised.listeners=PLAINTEXT://$KAFKA
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$1/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
file.delete.delay.ms=0
EOF
  tool kafka.tools.StorageTool format --standalone -t "$(tool kafka.tools.StorageTool random-uuid)" \
    -c "$1/server.properties" >/dev/null
}
kafka_start() { # dir
  java "${KAFKA_JVM[@]}" -cp "$CP" kafka.Kafka "$1/server.properties" >"$1/kafka.log" 2>&1 &
  KAFKA_PID=$!
}
herald_start() { # data-dir
  "$HERALD_BIN" serve --listen "$HERALD_HTTP" --kafka-listen "$HERALD" --data-dir "$1" --log warn \
    >>"$WORK/herald.log" 2>&1 &
  HERALD_PID=$!
}
stop() { # pid
  kill "$1"
  wait "$1" 2>/dev/null || true
}
wait_port() { # host:port
  for _ in $(seq 1200); do (echo >"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null && return; sleep 0.1; done
  echo "nothing listens on $1" >&2
  exit 1
}
for address in $KAFKA $KAFKA_CONTROLLER $HERALD_HTTP $HERALD; do
  if (echo >"/dev/tcp/${address%:*}/${address#*:}") 2>/dev/null; then
    echo "$address is taken: something else listens there" >&2
    exit 1
  fi
done
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

kafka_topic() { # name partitions
  client create "$KAFKA" "$1" "$2"
}
drop_topics() { # names… — the disk is small; each round's topics go after it
  for t in "$@"; do
    client delete "$KAFKA" "$t" 2>/dev/null || true # Herald-only topics are not in Kafka
    curl -sf -X DELETE "http://$HERALD_HTTP/topics/$t" >/dev/null || true
  done
  sleep 5 # let the deletes (and the discards they cause) settle before the next run
}
herald_topic() { # name partitions [extra JSON fields]
  curl -sf -X POST -H 'Content-Type: application/json' \
    --data "{\"name\":\"$1\",\"partitions\":$2,\"validation\":\"off\"${3:+,$3}}" "http://$HERALD_HTTP/topics" >/dev/null
}

# ---- cold start: a restart on a data directory holding one topic -------------------------
cold_kafka() {
  local dir="$WORK/kafka-cold" start acked
  mkdir -p "$dir"
  kafka_config "$dir"
  kafka_start "$dir"
  wait_port "$KAFKA"
  kafka_topic cold 1
  stop "$KAFKA_PID"
  client cold "$KAFKA" cold >"$WORK/cold" &
  local waiter=$!
  sleep 1
  start=$(date +%s.%N)
  kafka_start "$dir"
  wait "$waiter"
  acked=$(cat "$WORK/cold")
  stop "$KAFKA_PID"
  rm -rf "$dir"
  awk -v a="$acked" -v s="$start" 'BEGIN { printf "%.0f", (a - s) * 1000 }'
}
cold_herald() {
  local dir="$WORK/herald-cold" start acked
  herald_start "$dir"
  wait_port "$HERALD_HTTP"
  herald_topic cold 1
  stop "$HERALD_PID"
  client cold "$HERALD" cold >"$WORK/cold" &
  local waiter=$!
  sleep 1
  start=$(date +%s.%N)
  herald_start "$dir"
  wait "$waiter"
  acked=$(cat "$WORK/cold")
  stop "$HERALD_PID"
  rm -rf "$dir"
  awk -v a="$acked" -v s="$start" 'BEGIN { printf "%.1f", (a - s) * 1000 }'
}
COLD_KAFKA=()
COLD_HERALD=()
for _ in $(seq "$ROUNDS"); do
  COLD_KAFKA+=("$(cold_kafka)")
  COLD_HERALD+=("$(cold_herald)")
done
echo "cold start to first acknowledged produce: Kafka ${COLD_KAFKA[*]} ms, Herald ${COLD_HERALD[*]} ms"

# ---- both servers up, side by side --------------------------------------------------------
mkdir -p "$WORK/kafka"
kafka_config "$WORK/kafka"
kafka_start "$WORK/kafka"
herald_start "$WORK/herald"
wait_port "$KAFKA"
wait_port "$HERALD_HTTP"

# ProducerPerformance's summary line → "records/s MB/s p99-ms"
perf_produce() { # bootstrap topic [extra args]
  local bootstrap=$1 topic=$2
  shift 2
  tool org.apache.kafka.tools.ProducerPerformance --topic "$topic" --num-records "$RECORDS" \
    --throughput -1 --producer-props bootstrap.servers="$bootstrap" acks=all "$@" 2>&1 |
    tee -a "$WORK/perf.log" | awk '/records sent/ {gsub(/[(,]/, ""); print $4, $6, $(NF-5)}' | tail -1
}
# ConsumerPerformance's CSV line → "records/s MB/s" of its fetch.* columns (group join excluded)
perf_consume() { # bootstrap topic
  tool org.apache.kafka.tools.ConsumerPerformance --bootstrap-server "$1" --topic "$2" \
    --num-records "$RECORDS" --timeout 60000 --group "perf-$RANDOM$RANDOM" 2>&1 |
    tee -a "$WORK/perf.log" | awk -F', *' 'NF >= 10 && $1 !~ /start/ {print $10, $9}' | tail -1
}
row() { printf '%-58s %-30s %-30s %s\n' "$@"; }
ratio() { awk -v h="${1%% *}" -v k="${2%% *}" 'BEGIN { if (k > 0) printf "%.2f×", h / k; else print "?" }'; }

declare -A R
measure() { # name round → sets R[name/kafka/round], R[name/herald/round]
  local name=$1 r=$2
  case "$name" in
    java-produce)
      kafka_topic "jp$r" "$PARTITIONS"
      herald_topic "jp$r" "$PARTITIONS"
      R[$name/kafka/$r]=$(perf_produce "$KAFKA" "jp$r" --record-size 1024)
      R[$name/herald/$r]=$(perf_produce "$HERALD" "jp$r" --record-size 1024) ;;
    java-produce-interval)
      herald_topic "ji$r" "$PARTITIONS" '"durability":{"mode":"interval","interval_ms":10}'
      R[$name/kafka/$r]=${R[java-produce/kafka/$r]}
      R[$name/herald/$r]=$(perf_produce "$HERALD" "ji$r" --record-size 1024) ;;
    java-consume)
      R[$name/kafka/$r]=$(perf_consume "$KAFKA" "jp$r")
      R[$name/herald/$r]=$(perf_consume "$HERALD" "jp$r") ;;
    rdkafka-produce)
      kafka_topic "rp$r" "$PARTITIONS"
      herald_topic "rp$r" "$PARTITIONS"
      R[$name/kafka/$r]=$(client produce "$KAFKA" "rp$r" "$RECORDS")
      R[$name/herald/$r]=$(client produce "$HERALD" "rp$r" "$RECORDS") ;;
    rdkafka-produce-interval)
      herald_topic "ri$r" "$PARTITIONS" '"durability":{"mode":"interval","interval_ms":10}'
      R[$name/kafka/$r]=${R[rdkafka-produce/kafka/$r]}
      R[$name/herald/$r]=$(client produce "$HERALD" "ri$r" "$RECORDS") ;;
    rdkafka-consume)
      R[$name/kafka/$r]=$(client consume "$KAFKA" "rp$r" "$RECORDS")
      R[$name/herald/$r]=$(client consume "$HERALD" "rp$r" "$RECORDS") ;;
    latency)
      kafka_topic "lat$r" 1
      herald_topic "lat$r" 1
      R[$name/kafka/$r]=$(client latency "$KAFKA" "lat$r" 5000 10)
      R[$name/herald/$r]=$(client latency "$HERALD" "lat$r" 5000 10) ;;
  esac
}
# Warm-up, not counted: the JVM's JIT on both sides (Kafka's broker, the tools), page cache.
kafka_topic warmup "$PARTITIONS"
herald_topic warmup "$PARTITIONS"
perf_produce "$KAFKA" warmup --record-size 1024 >/dev/null
perf_produce "$HERALD" warmup --record-size 1024 >/dev/null
drop_topics warmup

MEASURES=(java-produce java-produce-interval java-consume rdkafka-produce rdkafka-produce-interval rdkafka-consume latency)
for r in $(seq "$ROUNDS"); do
  for m in "${MEASURES[@]}"; do measure "$m" "$r"; done
  drop_topics "jp$r" "ji$r" "rp$r" "ri$r" "lat$r"
done

# ---- 1,000 partitions: 10 topics × 100, keyed records over all of them ------------------
TOPICS=()
for t in $(seq 0 9); do
  kafka_topic "many$t" 100
  herald_topic "many$t" 100
  TOPICS+=("many$t")
done
MANY=$(IFS=,; echo "${TOPICS[*]}")
for r in $(seq "$ROUNDS"); do
  R[many-produce/kafka/$r]=$(client produce "$KAFKA" "$MANY" "$RECORDS" --keyed)
  R[many-produce/herald/$r]=$(client produce "$HERALD" "$MANY" "$RECORDS" --keyed)
done
R[many-consume/kafka/1]=$(client consume "$KAFKA" "$MANY" "$((RECORDS * ROUNDS))")
R[many-consume/herald/1]=$(client consume "$HERALD" "$MANY" "$((RECORDS * ROUNDS))")
KAFKA_RSS=$(rss "$KAFKA_PID")
HERALD_RSS=$(rss "$HERALD_PID")
drop_topics "${TOPICS[@]}"

# ---- Avro `full` validation against validation off (Herald only) -------------------------
SCHEMA=$(client avro-payloads "$WORK/avro.payloads" 1)
ID=$(curl -sf -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
  --data "$(jq -n --arg s "$SCHEMA" '{schema: $s}')" "http://$HERALD_HTTP/subjects/avro-full-value/versions" | jq .id)
if [ "$ID" != 1 ]; then client avro-payloads "$WORK/avro.payloads" "$ID" >/dev/null; fi
for r in $(seq "$ROUNDS"); do
  herald_topic "avro-off$r" "$PARTITIONS"
  curl -sf -X POST -H 'Content-Type: application/json' --data "{\"name\":\"avro-full$r\",\"partitions\":$PARTITIONS,\"validation\":\"full\",\"value_subject\":\"avro-full-value\"}" \
    "http://$HERALD_HTTP/topics" >/dev/null
  R[avro-java/off/$r]=$(perf_produce "$HERALD" "avro-off$r" --payload-file "$WORK/avro.payloads")
  R[avro-java/full/$r]=$(perf_produce "$HERALD" "avro-full$r" --payload-file "$WORK/avro.payloads")
  R[avro-rdkafka/off/$r]=$(client produce "$HERALD" "avro-off$r" "$RECORDS" --payload-file "$WORK/avro.payloads")
  R[avro-rdkafka/full/$r]=$(client produce "$HERALD" "avro-full$r" "$RECORDS" --payload-file "$WORK/avro.payloads")
  drop_topics "avro-off$r" "avro-full$r"
done
if grep -qi 'error\|exception' "$WORK/perf.log"; then
  echo "errors from the Java tools:" >&2
  grep -i 'error\|exception' "$WORK/perf.log" | sort | uniq -c | head -20 >&2
fi

# ---- table ------------------------------------------------------------------------------
echo
row "measure (round)" "Apache Kafka $KAFKA_VERSION" "Herald" "Herald / Kafka"
for m in java-produce java-produce-interval java-consume rdkafka-produce rdkafka-produce-interval rdkafka-consume many-produce many-consume latency; do
  for r in $(seq "$ROUNDS"); do
    [ -n "${R[$m/kafka/$r]:-}" ] || continue
    k=${R[$m/kafka/$r]}
    h=${R[$m/herald/$r]}
    if [ "$m" = latency ]; then
      kp=$(sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p' <<<"$k")
      hp=$(sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p' <<<"$h")
      row "$m ($r)" "${k#*; }" "${h#*; }" "p99 $(ratio "$hp" "$kp")"
    else
      row "$m ($r)" "$k" "$h" "$(ratio "$h" "$k")"
    fi
  done
done
for r in $(seq "$ROUNDS"); do
  for m in java-produce rdkafka-produce; do
    awk -v h="${R[$m/herald/$r]}" -v f="$FIO_MBS" -v label="Herald sync $m vs fio ($r)" -v mib="$([ $m = java-produce ] && echo 1.048576 || echo 1)" \
      'BEGIN { split(h, a, " "); printf "%-58s %.1f MB/s = %.0f %% of fio (%s MB/s)\n", label, a[2 + (mib == 1)] * mib, 100 * a[2 + (mib == 1)] * mib / f, f }'
  done
done
for r in $(seq "$ROUNDS"); do
  row "Avro full vs off, ProducerPerformance ($r)" "off ${R[avro-java/off/$r]}" "full ${R[avro-java/full/$r]}" "$(ratio "${R[avro-java/full/$r]}" "${R[avro-java/off/$r]}")"
  row "Avro full vs off, librdkafka ($r)" "off ${R[avro-rdkafka/off/$r]}" "full ${R[avro-rdkafka/full/$r]}" "$(ratio "${R[avro-rdkafka/full/$r]}" "${R[avro-rdkafka/off/$r]}")"
done
row "resident memory after the runs (MiB)" "$KAFKA_RSS" "$HERALD_RSS" "$(ratio "$HERALD_RSS" "$KAFKA_RSS")"
for r in $(seq "$ROUNDS"); do
  row "cold start to first ack (ms) ($r)" "${COLD_KAFKA[$((r - 1))]}" "${COLD_HERALD[$((r - 1))]}" "$(ratio "${COLD_HERALD[$((r - 1))]}" "${COLD_KAFKA[$((r - 1))]}")"
done
echo "(ProducerPerformance: records/s, MiB/s, p99 ms; ConsumerPerformance: fetch records/s, MiB/s; librdkafka: records/s, MB/s)"
grep -v '^$' "$WORK/herald.log" | sort | uniq -c | sort -rn | head -10 | sed 's/^/herald log: /' || true
