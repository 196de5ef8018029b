#!/usr/bin/env bash
# herald check in git mode over a generated repository of 500 schema files: 250 topics, each
# with an Avro value schema (12 fields, a nested record, an enum), one earlier version under
# history/, a topic.toml naming FULL_TRANSITIVE and an example. The working tree adds an
# optional field to every topic, so every check compares against two previous versions.
#
#   bench/check-git.sh [RUNS]      (default 10; uses hyperfine when installed)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
cargo build --release --quiet
herald="$PWD/target/release/herald"
repo="$(mktemp -d /tmp/herald-check-bench.XXXXXX)"
trap 'rm -rf "$repo"' EXIT

python3 - "$repo" <<'PY'
import json, os, sys
repo = sys.argv[1]
def schema(i, extra):
    fields = [
        {"name": "id", "type": "string", "doc": "Unique id."},
        {"name": "amount", "type": {"type": "record", "name": f"Money{i}", "fields": [
            {"name": "units", "type": "long", "doc": "Minor units."},
            {"name": "currency", "type": "string", "doc": "ISO 4217 code."}]}, "doc": "What was paid."},
        {"name": "state", "type": {"type": "enum", "name": f"State{i}", "symbols": ["NEW", "DONE", "UNKNOWN"], "default": "UNKNOWN"}, "doc": "State."},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}, "doc": "When."},
    ]
    for n in range(8 + extra):
        fields.append({"name": f"note_{n}", "type": ["null", "string"], "default": None, "doc": f"Note {n}."})
    return json.dumps({"type": "record", "name": f"Event{i}", "namespace": "bench", "fields": fields}, indent=2)
for i in range(250):
    d = os.path.join(repo, "schemas", f"topic-{i:03}")
    os.makedirs(os.path.join(d, "history"))
    os.makedirs(os.path.join(d, "examples"))
    open(os.path.join(d, "history", "v1.avsc"), "w").write(schema(i, 0))
    open(os.path.join(d, "value.avsc"), "w").write(schema(i, 1))
    open(os.path.join(d, "topic.toml"), "w").write('owner = "team"\ncompatibility = "FULL_TRANSITIVE"\n')
    example = {"id": "e", "amount": {"units": 1, "currency": "EUR"}, "state": "NEW", "at": 0}
    open(os.path.join(d, "examples", "one.json"), "w").write(json.dumps(example))
PY
git -C "$repo" init -q -b main
git -C "$repo" add .
git -C "$repo" -c user.name=bench -c user.email=bench@example.com commit -q -m base
# The pull request: one more optional field in every value schema.
python3 - "$repo" <<'PY'
import json, glob, sys
for path in glob.glob(sys.argv[1] + "/schemas/*/value.avsc"):
    schema = json.load(open(path))
    schema["fields"].append({"name": "added", "type": ["null", "long"], "default": None, "doc": "New."})
    open(path, "w").write(json.dumps(schema, indent=2))
PY

files=$(find "$repo/schemas" -name '*.avsc' | wc -l)
echo "== $files schema files ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
cd "$repo"
"$herald" check --against git:main > /dev/null || { echo "the check failed"; exit 1; }
"$herald" check --against git:main | tail -1
if command -v hyperfine > /dev/null; then
  hyperfine --warmup 2 --runs "$runs" "$herald check --against git:main --format json"
else
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e s" "$herald" check --against git:main --format json > /dev/null
  done
fi
