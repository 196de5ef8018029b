#!/usr/bin/env bash
# What security costs (issue 16 targets), side by side in one run on loopback: the same
# release binary serving three ways at once,
#   - open: no [security] section;
#   - auth: Basic credentials (argon2id user, remembered after the first check) and grants;
#   - tls:  the same, over TLS (rustls, a self-signed P-256 certificate);
# measuring registry reads (GET /schemas/ids/{id}, lookups) and HTTP produce (REST Proxy
# JSON, 100 records of 1 KiB per request, at the topic's default durability) with wrk.
# Targets: auth keeps >= 90 % of open's reads and produce; tls keeps >= 70 % of open's
# produce. The open server is measured before and after the others and its mean used, as
# the machine drifts.
# Needs wrk, curl and openssl. Usage: bench/security-load.sh [seconds per run]
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
TARGET="${CARGO_TARGET_DIR:-target}"
OPEN=127.0.0.1:18191
AUTH=127.0.0.1:18192
TLS=127.0.0.1:18193
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

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
  curl -sfk -X POST -H "$CT" -H "$AUTHZ" --data "$LOOKUP_BODY" "$url/subjects/bench-value/versions" >/dev/null
  curl -sfk -X POST -H 'Content-Type: application/json' -H "$AUTHZ" --data '{"name":"bench","partitions":1}' \
    "$url/topics" >/dev/null
done
ID=1
export RECORDS=100 SIZE=1024 FORMAT=json TOPIC_PATH=/topics/bench

rps() { # wrk's requests per second, failing loudly on any non-2xx answer
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
mean() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (a + b) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", 100 * a / b }'; }

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | xargs); wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s"
for url in "http://$OPEN" "http://$AUTH" "https://$TLS"; do
  wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -H "$AUTHZ" "$url/schemas/ids/$ID" >/dev/null 2>&1
done

OPEN_ID_1=$(rps "http://$OPEN/schemas/ids/$ID")
AUTH_ID=$(rps -H "$AUTHZ" "http://$AUTH/schemas/ids/$ID")
OPEN_LOOKUP_1=$(rps -s bench/lookup.lua "http://$OPEN/subjects/bench-value")
AUTH_LOOKUP=$(rps -H "$AUTHZ" -s bench/lookup.lua "http://$AUTH/subjects/bench-value")
OPEN_PRODUCE_1=$(produce_rps "http://$OPEN")
AUTH_PRODUCE=$(produce_rps -H "$AUTHZ" "http://$AUTH")
TLS_PRODUCE=$(produce_rps -H "$AUTHZ" "https://$TLS")
OPEN_PRODUCE_2=$(produce_rps "http://$OPEN")
OPEN_ID_2=$(rps "http://$OPEN/schemas/ids/$ID")
OPEN_LOOKUP_2=$(rps -s bench/lookup.lua "http://$OPEN/subjects/bench-value")
TLS_ID=$(rps -H "$AUTHZ" "https://$TLS/schemas/ids/$ID")

OPEN_ID=$(mean "$OPEN_ID_1" "$OPEN_ID_2")
OPEN_LOOKUP=$(mean "$OPEN_LOOKUP_1" "$OPEN_LOOKUP_2")
OPEN_PRODUCE=$(mean "$OPEN_PRODUCE_1" "$OPEN_PRODUCE_2")
echo "GET /schemas/ids/$ID  open $OPEN_ID req/s ($OPEN_ID_1, $OPEN_ID_2)  auth $AUTH_ID = $(ratio "$AUTH_ID" "$OPEN_ID")  tls+auth $TLS_ID = $(ratio "$TLS_ID" "$OPEN_ID")"
echo "POST /subjects/{s}    open $OPEN_LOOKUP req/s ($OPEN_LOOKUP_1, $OPEN_LOOKUP_2)  auth $AUTH_LOOKUP = $(ratio "$AUTH_LOOKUP" "$OPEN_LOOKUP")"
echo "produce 100 x 1 KiB   open $OPEN_PRODUCE req/s ($OPEN_PRODUCE_1, $OPEN_PRODUCE_2)  auth $AUTH_PRODUCE = $(ratio "$AUTH_PRODUCE" "$OPEN_PRODUCE")  tls+auth $TLS_PRODUCE = $(ratio "$TLS_PRODUCE" "$OPEN_PRODUCE")"
