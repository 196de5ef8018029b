#!/usr/bin/env bash
# Fuzzes Herald's untrusted inputs with cargo fuzz (libFuzzer), each target for a bounded
# time (default 60 s), starting from the committed seeds:
#   fuzz/run.sh [seconds per target] [target ...]
# Targets: avro_schema json_schema protobuf_schema record_batch kafka_request produce_body
# (default: all).
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). The corpus grows in
# fuzz/corpus/<target> (not committed). A crash leaves its input in fuzz/artifacts/<target>:
# copy it to fuzz/regressions/<target>/ and `cargo test fuzz_corpus` replays it for good.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
# The targets run safe Rust: panics, aborts, hangs and runaway memory are what is sought,
# which need no sanitizer. SANITIZER=address rebuilds everything with ASan.
sanitizer="${SANITIZER:-none}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(avro_schema json_schema protobuf_schema record_batch kafka_request produce_body)
fi
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  echo "== $target for ${seconds}s"
  cargo +nightly fuzz run --sanitizer "$sanitizer" -O "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
done
