#!/usr/bin/env bash
# Instructions per parse (callgrind), for the parse + canonicalise benchmark's schemas.
# Deterministic where wall-clock figures on a shared machine are not: use it to compare
# changes. Needs valgrind. Usage: bench/parse-instructions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example parse_loop --quiet
bin=target/release/examples/parse_loop
count() {
    local out
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$1" "$2" >/dev/null 2>&1
    callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
    rm -f "$out"
}
for workload in avro json protobuf value; do
    one=$(count "$workload" 1)
    many=$(count "$workload" 201)
    echo "$workload: $(( (many - one) / 200 )) instructions per parse"
done
