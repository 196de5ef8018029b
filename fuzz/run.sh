#!/usr/bin/env bash
# Fuzzes Kafka request parsing for a bounded time (default 120 s):
#   fuzz/run.sh [seconds]
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). The corpus grows in
# fuzz/corpus/kafka_request (not committed); a crash leaves its input in fuzz/artifacts.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-120}"
mkdir -p corpus/kafka_request
cargo +nightly fuzz run kafka_request corpus/kafka_request -- -max_total_time="$seconds" -rss_limit_mb=2048
