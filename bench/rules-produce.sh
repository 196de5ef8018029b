#!/usr/bin/env bash
# What data-contract rules cost on produce (issue 19): the same records produced to a topic
# whose subject's schema has no rules (validated only) and to one whose schema carries three
# CEL CONDITION rules the server runs, in alternating rounds against one `herald serve`
# (release build of this tree) on loopback, through both doors:
#   - Kafka: librdkafka (bench/kafka-client.py), ~1 KiB framed Avro records, acks=all;
#   - HTTP: wrk (bench/produce.lua), batches of 100 JSON records under a JSON Schema.
# Prints records/s per round and the ratio rules / validated-only.
# Needs a Python with confluent-kafka ($PYTHON), wrk, jq.
# Usage: [RECORDS=200000] [ROUNDS=3] [SECONDS_PER_RUN=8] [PYTHON=…] [HERALD_BIN=…] bench/rules-produce.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS="${RECORDS:-200000}"
ROUNDS="${ROUNDS:-3}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-8}"
PYTHON="${PYTHON:-$PWD/target/ci-python/bin/python}"
HTTP=127.0.0.1:28295
KAFKA=127.0.0.1:29294
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
post() { curl -sf -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' --data "$2" "http://$HTTP$1"; }

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | xargs); herald $(git rev-parse --short HEAD)"
"$HERALD_BIN" serve --data-dir "$WORK/data" --listen "$HTTP" --kafka-listen "$KAFKA" --log warn >"$WORK/serve.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf "http://$HTTP/health/ready" >/dev/null && break; sleep 0.1; done

# Avro (Kafka door): the bench's padded record, once without rules and once with three.
AVRO=$(client avro-payloads "$WORK/plain.payloads" 1)
AVRO_RULES='{"domainRules": [
  {"name": "f0Long", "kind": "CONDITION", "type": "CEL", "mode": "WRITE", "expr": "size(message.f0) > 3"},
  {"name": "f1NotF2", "kind": "CONDITION", "type": "CEL", "mode": "WRITE", "expr": "message.f1 != message.f2"},
  {"name": "f3Set", "kind": "CONDITION", "type": "CEL", "mode": "WRITE", "expr": "message.f3 != \"\" && message.f4.startsWith(\"0\") || size(message.f4) > 0"}]}'
PLAIN_ID=$(post /subjects/avro-plain-value/versions "$(jq -n --arg s "$AVRO" '{schema: $s}')" | jq .id)
RULES_ID=$(post /subjects/avro-rules-value/versions "$(jq -n --arg s "$AVRO" --argjson r "$AVRO_RULES" '{schema: $s, ruleSet: $r}')" | jq .id)
client avro-payloads "$WORK/plain.payloads" "$PLAIN_ID" >/dev/null
client avro-payloads "$WORK/rules.payloads" "$RULES_ID" >/dev/null

# JSON Schema (HTTP door): produce.lua's {"id": "r-N", "pad": "xx…"} records.
JSON_SCHEMA='{"type":"object","properties":{"id":{"type":"string"},"pad":{"type":"string"}},"required":["id","pad"]}'
JSON_RULES='{"domainRules": [
  {"name": "idPrefix", "kind": "CONDITION", "type": "CEL", "mode": "WRITE", "expr": "message.id.startsWith(\"r-\")"},
  {"name": "padded", "kind": "CONDITION", "type": "CEL", "mode": "WRITE", "expr": "size(message.pad) > 10"},
  {"name": "distinct", "kind": "CONDITION", "type": "CEL", "mode": "WRITE", "expr": "message.id != message.pad"}]}'
post /subjects/json-plain-value/versions "$(jq -n --arg s "$JSON_SCHEMA" '{schemaType: "JSON", schema: $s}')" >/dev/null
post /subjects/json-rules-value/versions "$(jq -n --arg s "$JSON_SCHEMA" --argjson r "$JSON_RULES" '{schemaType: "JSON", schema: $s, ruleSet: $r}')" >/dev/null

topic() {
  curl -sf -X POST -H 'Content-Type: application/json' \
    --data "{\"name\":\"$1\",\"partitions\":$PARTITIONS,\"validation\":\"full\",\"value_subject\":\"$2\"}" "http://$HTTP/topics" >/dev/null
}
drop() { for t in "$@"; do curl -sf -X DELETE "http://$HTTP/topics/$t" >/dev/null; done; }
wrk_rate() {
  TOPIC_PATH="/topics/$1" FORMAT=json RECORDS=100 SIZE=1024 \
    wrk -t2 -c8 -d"${SECONDS_PER_RUN}s" -s bench/produce.lua "http://$HTTP" 2>/dev/null |
    awk '/Requests\/sec/ {printf "%.0f records/s", $2 * 100}'
}
ratio() { awk -v r="${1%% *}" -v p="${2%% *}" 'BEGIN { printf "%.2f×", r / p }'; }

printf '%-6s %-6s %-24s %-24s %s\n' round door "validated only" "+ 3 CEL rules" "rules / validated"
for r in $(seq "$ROUNDS"); do
  topic "avro-plain$r" avro-plain-value
  topic "avro-rules$r" avro-rules-value
  plain=$(client produce "$KAFKA" "avro-plain$r" "$RECORDS" --payload-file "$WORK/plain.payloads")
  rules=$(client produce "$KAFKA" "avro-rules$r" "$RECORDS" --payload-file "$WORK/rules.payloads")
  printf '%-6s %-6s %-24s %-24s %s\n' "$r" kafka "${plain%%,*}" "${rules%%,*}" "$(ratio "$rules" "$plain")"
  drop "avro-plain$r" "avro-rules$r"
  topic "json-plain$r" json-plain-value
  topic "json-rules$r" json-rules-value
  plain=$(wrk_rate "json-plain$r")
  rules=$(wrk_rate "json-rules$r")
  printf '%-6s %-6s %-24s %-24s %s\n' "$r" http "$plain" "$rules" "$(ratio "$rules" "$plain")"
  drop "json-plain$r" "json-rules$r"
done
# Every rule ran on every record and none failed.
curl -sf "http://$HTTP/metrics" | grep '^herald_rule_evaluations_total' | grep -v 'outcome="passed"' && {
  echo "a rule failed or was only counted: the records were not what the rules expect" >&2
  exit 1
} || true
curl -sf "http://$HTTP/metrics" | grep '^herald_rule_evaluations_total' | head -3
