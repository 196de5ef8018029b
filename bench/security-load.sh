#!/usr/bin/env bash
# What security costs (issue 16 targets), side by side in one run on loopback: the same
# release binary serving three ways at once,
#   - open: no [security] section;
#   - auth: Basic credentials (argon2id user, remembered after the first check) and grants;
#   - tls:  the same, over TLS (rustls, a self-signed P-256 certificate);
# measuring registry reads (GET /schemas/ids/{id}, lookups) and HTTP produce (REST Proxy
# JSON, 100 records of 1 KiB per request, at the topic's default durability) with wrk.
# Targets: auth keeps >= 90 % of open's reads and produce; tls keeps >= 70 % of open's
# produce. Each server is measured once per round, back to back, and the rounds summed, so
# the machine's drift falls on all three alike.
# Needs wrk, curl and openssl. Usage: [ROUNDS=3] bench/security-load.sh [seconds per run, 5]
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-5}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
TARGET="${CARGO_TARGET_DIR:-target}"
OPEN=127.0.0.1:18191
AUTH=127.0.0.1:18192
TLS=127.0.0.1:18193
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build --release --quiet --bin herald
HERALD="$TARGET/release/herald"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=bench \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
HERALD_PASSWORD=bench-password "$HERALD" users add bench --role admin --file "$WORK/users.toml" >/dev/null
cat >"$WORK/auth.toml" <<TOML
[security]
users_file = "users.toml"
TOML
cat >"$WORK/tls.toml" <<TOML
[security]
users_file = "users.toml"
[security.tls]
cert = "cert.pem"
key = "key.pem"
TOML

"$HERALD" serve --listen "$OPEN" --data-dir "$WORK/open" --kafka-listen off --log warn &
"$HERALD" serve --listen "$AUTH" --data-dir "$WORK/auth" --kafka-listen off --log warn --config "$WORK/auth.toml" &
"$HERALD" serve --listen "$TLS" --data-dir "$WORK/tls" --kafka-listen off --log warn --config "$WORK/tls.toml" &
AUTHZ="Authorization: Basic $(printf 'bench:bench-password' | base64)"
for _ in $(seq 100); do
  curl -sf "http://$OPEN/health" >/dev/null && curl -sf "http://$AUTH/health" >/dev/null \
    && curl -sfk "https://$TLS/health" >/dev/null && break
  sleep 0.1
done

CT='Content-Type: application/vnd.schemaregistry.v1+json'
SCHEMA='{\"type\":\"record\",\"name\":\"Payment\",\"namespace\":\"com.acme\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"amount\",\"type\":\"double\"}]}'
export LOOKUP_BODY="{\"schema\":\"$SCHEMA\"}"
for url in "http://$OPEN" "http://$AUTH" "https://$TLS"; do
  # The reads' subject is not the produced topic's, so produce is not refused by the gate.
  curl -sfk -X POST -H "$CT" -H "$AUTHZ" --data "$LOOKUP_BODY" "$url/subjects/reads-value/versions" >/dev/null
  curl -sfk -X POST -H 'Content-Type: application/json' -H "$AUTHZ" --data '{"name":"bench","partitions":1}' \
    "$url/topics" >/dev/null
done
ID=1
export RECORDS=100 SIZE=1024 FORMAT=json TOPIC_PATH=/topics/bench

rps() { # wrk's requests per second over ROUND seconds, failing loudly on any non-2xx answer
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "$@" 2>&1)
  if grep -q "Non-2xx" <<<"$out"; then echo "ERROR: $(grep Non-2xx <<<"$out") for $*" >&2; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}
produce_rps() { # produce uses fewer connections: each request waits for a durable append
  local out
  out=$(wrk -t"$THREADS" -c4 -d"${DURATION}s" -s bench/produce.lua "$@" 2>&1)
  if grep -q "Non-2xx" <<<"$out"; then echo "ERROR: $(grep Non-2xx <<<"$out") for $*" >&2; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", 100 * a / b }'; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", a + b }'; }

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | xargs); wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s per run, $ROUNDS rounds"
for url in "http://$OPEN" "http://$AUTH" "https://$TLS"; do
  wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -H "$AUTHZ" "$url/schemas/ids/$ID" >/dev/null 2>&1
done

# Rounds of back-to-back runs, each server in turn, summed: the machine's drift falls on
# all three alike.
declare -A SUM
for key in open_id auth_id tls_id open_lookup auth_lookup open_produce auth_produce tls_produce; do SUM[$key]=0; done
for round in $(seq "$ROUNDS"); do
  SUM[open_id]=$(add "${SUM[open_id]}" "$(rps "http://$OPEN/schemas/ids/$ID")")
  SUM[auth_id]=$(add "${SUM[auth_id]}" "$(rps -H "$AUTHZ" "http://$AUTH/schemas/ids/$ID")")
  SUM[tls_id]=$(add "${SUM[tls_id]}" "$(rps -H "$AUTHZ" "https://$TLS/schemas/ids/$ID")")
  SUM[open_lookup]=$(add "${SUM[open_lookup]}" "$(rps -s bench/lookup.lua "http://$OPEN/subjects/reads-value")")
  SUM[auth_lookup]=$(add "${SUM[auth_lookup]}" "$(rps -H "$AUTHZ" -s bench/lookup.lua "http://$AUTH/subjects/reads-value")")
  SUM[open_produce]=$(add "${SUM[open_produce]}" "$(produce_rps "http://$OPEN")")
  SUM[auth_produce]=$(add "${SUM[auth_produce]}" "$(produce_rps -H "$AUTHZ" "http://$AUTH")")
  SUM[tls_produce]=$(add "${SUM[tls_produce]}" "$(produce_rps -H "$AUTHZ" "https://$TLS")")
done
per() { awk -v a="$1" -v n="$ROUNDS" 'BEGIN { printf "%.0f", a / n }'; }
echo "GET /schemas/ids/$ID  open $(per "${SUM[open_id]}") req/s  auth $(per "${SUM[auth_id]}") = $(ratio "${SUM[auth_id]}" "${SUM[open_id]}")  tls+auth $(per "${SUM[tls_id]}") = $(ratio "${SUM[tls_id]}" "${SUM[open_id]}")"
echo "POST /subjects/{s}    open $(per "${SUM[open_lookup]}") req/s  auth $(per "${SUM[auth_lookup]}") = $(ratio "${SUM[auth_lookup]}" "${SUM[open_lookup]}")"
echo "produce 100 x 1 KiB   open $(per "${SUM[open_produce]}") req/s  auth $(per "${SUM[auth_produce]}") = $(ratio "${SUM[auth_produce]}" "${SUM[open_produce]}")  tls+auth $(per "${SUM[tls_produce]}") = $(ratio "${SUM[tls_produce]}" "${SUM[open_produce]}")"
