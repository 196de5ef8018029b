#!/usr/bin/env bash
# Load benchmark of partner webhooks and the live tail (issue 18), on loopback:
#   1. webhook delivery: one JSON subscription on a 4-partition topic, records produced at
#      RATE/s (batches of BATCH, distinct keys, acknowledged after fdatasync); a local
#      receiver answers 204 and measures each record's delay;
#   2. live tail: the same load followed by one Server-Sent Events client
#      (GET /topics/T/live?from=latest); then (DIAGNOSE=1, the default) again with a client
#      that sets TCP_QUICKACK after every read, which shows whether small writes wait for
#      the reader's delayed ACKs (Nagle's algorithm on the server's socket);
#   3. memory: VmRSS and threads of a fresh `herald serve` before and after creating SUBS
#      idle webhook subscriptions (from latest, same receiver URL, 4-partition topic);
#   4. webhook delivery again, in the same process as those idle subscriptions (on another
#      topic): what they cost a busy server.
# Each load runs WARMUP s unmeasured, then DURATION s measured; only records produced in the
# measured window count. Delays are the receiver's wall clock minus (a) the record's
# timestamp (ms, set by the broker at append) and (b) the producer's send time (sent_ns in
# the value, taken just before its produce request). Herald runs fresh for each scenario.
#
# Needs Go (builds bench/webhook-receiver into target/bench/), curl and jq, and the release
# binary (cargo build --release --bin herald; or HERALD_BIN=path). Prints a table; writes
# nothing outside a temporary directory under target/.
# Usage: bench/webhooks.sh [measured seconds per load, default 25]
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-25}"
WARMUP="${WARMUP:-5}"
RATE="${RATE:-5000}"
BATCH="${BATCH:-50}"
SUBS="${SUBS:-1000}"
HERALD_BIN="${HERALD_BIN:-target/release/herald}"
PORT=18191     # herald
RPORT=18190    # webhook receiver
CPORT=18192    # tail client's control address
HERALD="http://127.0.0.1:$PORT"
CT='Content-Type: application/json'

[ -x "$HERALD_BIN" ] || { echo "no $HERALD_BIN: cargo build --release --bin herald first" >&2; exit 1; }
mkdir -p target/bench
(cd bench/webhook-receiver && go build -o ../../target/bench/webhook-receiver .)
TOOL=target/bench/webhook-receiver

WORK="$(mktemp -d -p "${BENCH_DIR:-$PWD/target}")"
HPID=""
cleanup() {
  [ -n "$HPID" ] && kill -TERM "$HPID" 2>/dev/null || true
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "bench/webhooks.sh: failed at line $LINENO" >&2' ERR

start_herald() { # data dir name
  "$HERALD_BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/$1" --kafka-listen off --log warn \
    2>>"$WORK/herald.log" &
  HPID=$!
  for _ in $(seq 100); do curl -sf "$HERALD/health" >/dev/null && return; sleep 0.05; done
  echo "herald did not start:" >&2; cat "$WORK/herald.log" >&2; exit 1
}
stop_herald() {
  kill -TERM "$HPID"; wait "$HPID" 2>/dev/null || true; HPID=""
}
topic() { curl -sf -X POST -H "$CT" --data "{\"name\":\"$1\",\"partitions\":4}" "$HERALD/topics" >/dev/null; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$HPID/stat"; }
status() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$HPID/status"; }
get() { grep -o "\b$1=[^ ]*" <<<"$2" | head -1 | cut -d= -f2 || echo "?"; } # key line
TICK=$(getconf CLK_TCK)

start_receiver() { # a new receiver, its figures empty
  [ -n "${RPID:-}" ] && { kill "$RPID"; wait "$RPID" 2>/dev/null || true; }
  "$TOOL" receive -listen "127.0.0.1:$RPORT" 2>>"$WORK/receiver.log" &
  RPID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$RPORT/ready" >/dev/null && return; sleep 0.05; done
  echo "the receiver did not start" >&2; exit 1
}
start_receiver

# A load against topic $1 while the collector at $2 (a control address) counts; one line of
# key=value: the producer's and the collector's figures and herald's CPU share.
load() {
  local t0 c0 t1 c1 produced stats
  t0=$(date +%s.%N); c0=$(cpu_ticks)
  produced=$("$TOOL" produce -url "$HERALD" -topic "$1" -rate "$RATE" -batch "$BATCH" \
    -warmup "${WARMUP}s" -duration "${DURATION}s")
  t1=$(date +%s.%N); c1=$(cpu_ticks)
  stats=$(curl -sf "http://$2/stats?expect=$(get produced "$produced")&wait=30")
  echo "$produced $stats herald_cpu=$(awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" -v h="$TICK" \
    'BEGIN { printf "%.0f", 100 * (b - a) / h / (e - s) }')"
}

ROWS=()
row() { # name line
  local l="$2" lost
  lost=$(awk -v a="$(get acked "$l")" -v r="$(get received "$l")" 'BEGIN { print a - r }')
  ROWS+=("$(printf '%-26s %7s %8s %9s %6s %18s %18s %5s%%' "$1" \
    "$(get send_rate "$l")" "$(get rate "$l")" "$lost" "$(get ack_p99 "$l")" \
    "$(get ts_p50 "$l") / $(get ts_p99 "$l")" "$(get sent_p50 "$l") / $(get sent_p99 "$l")" "$(get herald_cpu "$l")")")
  echo "  $1: $l" >&2
}

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | xargs), kernel $(uname -r)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (the bench itself adds about 1)"
echo "load: $RATE records/s in batches of $BATCH, ${WARMUP}s warm-up + ${DURATION}s measured, 4 partitions"

# 1. Webhook delivery.
start_herald hooks
topic hooks
curl -sf -X POST -H "$CT" --data "{\"name\":\"s1\",\"url\":\"http://127.0.0.1:$RPORT/hook\",\"from\":\"latest\"}" \
  "$HERALD/topics/hooks/subscriptions" >/dev/null
L=$(load hooks "127.0.0.1:$RPORT")
row "webhooks, 1 subscription" "$L"
SUB=$(curl -sf "$HERALD/topics/hooks/subscriptions/s1")
echo "  subscription after the run: lag $(jq .lag <<<"$SUB"), delivered $(jq .status.delivered <<<"$SUB"), state $(jq -r .status.state <<<"$SUB"), receiver connections $(get conns "$L")" >&2
stop_herald

# 2. Live tail; 2b. the same with a client that acknowledges every read at once
# (TCP_QUICKACK), a diagnostic: if the delay falls, it was the server's socket holding small
# writes back until the reader's (delayed) ACK (Nagle's algorithm).
tail_run() { # data-dir label extra-flags...
  local dir="$1" label="$2"; shift 2
  start_herald "$dir"
  topic tail
  "$TOOL" tail "$@" -url "$HERALD/topics/tail/live?from=latest" -control "127.0.0.1:$CPORT" 2>>"$WORK/tail.log" &
  TPID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$CPORT/ready" >/dev/null && break; sleep 0.05; done
  L=$(load tail "127.0.0.1:$CPORT")
  row "$label" "$L"
  kill "$TPID" 2>/dev/null || true; wait "$TPID" 2>/dev/null || true
  stop_herald
}
tail_run tail "live tail, 1 SSE client"
[ "${DIAGNOSE:-1}" = 1 ] && tail_run tail-quickack "  same, client quick ACKs" -quickack

# 3. Memory of idle subscriptions.
start_herald idle
topic idle
topic hooks
sleep 3
RSS0=$(status VmRSS); ANON0=$(status RssAnon); THR0=$(status Threads)
MADE=$("$TOOL" subscribe -url "$HERALD" -topic idle -n "$SUBS" -prefix idle -hook "http://127.0.0.1:$RPORT/hook")
sleep 5
RSS1=$(status VmRSS); ANON1=$(status RssAnon); THR1=$(status Threads)
COUNT=$(curl -sf "$HERALD/topics/idle/subscriptions" | jq length)

# 4. Webhook delivery beside them.
curl -sf -X POST -H "$CT" --data "{\"name\":\"s1\",\"url\":\"http://127.0.0.1:$RPORT/hook\",\"from\":\"latest\"}" \
  "$HERALD/topics/hooks/subscriptions" >/dev/null
start_receiver
L=$(load hooks "127.0.0.1:$RPORT")
row "webhooks, $SUBS idle beside" "$L"
RSS2=$(status VmRSS)
stop_herald

echo
printf '%-26s %7s %8s %9s %6s %18s %18s %6s\n' "scenario" "sent/s" "recv/s" "missing" "ack99" \
  "ts delay p50/p99" "send delay p50/p99" "herald"
for r in "${ROWS[@]}"; do echo "$r"; done
echo "(rates in records/s; missing: acknowledged but never received; ack99: produce acknowledgement p99, ms;"
echo " ts delay: arrival minus the record's timestamp, ms; send delay: arrival minus the producer's send, ms;"
echo " herald: its CPU during the load, % of one core)"
echo
echo "idle subscriptions: $(get created "$MADE") created ($COUNT listed) in $(get seconds "$MADE") s;" \
  "VmRSS $((RSS0 / 1024)).$(( (RSS0 % 1024) * 10 / 1024 )) -> $((RSS1 / 1024)).$(( (RSS1 % 1024) * 10 / 1024 )) MiB" \
  "(+$(awk -v a="$RSS0" -v b="$RSS1" 'BEGIN { printf "%.1f MiB = %.1f MB", (b - a) / 1024, (b - a) * 1.024 / 1000 }'); anonymous +$(awk -v a="$ANON0" -v b="$ANON1" 'BEGIN { printf "%.1f MiB", (b - a) / 1024 }')), threads $THR0 -> $THR1;" \
  "VmRSS after load 4: $(awk -v a="$RSS2" 'BEGIN { printf "%.1f", a / 1024 }') MiB"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "targets: webhooks >= 5,000 records/s with p99 <= 50 ms; live tail p99 <= 20 ms at 5,000/s; $SUBS idle subscriptions < 50 MB"
