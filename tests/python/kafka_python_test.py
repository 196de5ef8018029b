"""Drives Herald's Kafka listener with kafka-python, a second client implementation written
independently of librdkafka (its producer is idempotent by default).

Usage: python kafka_python_test.py KAFKA_BOOTSTRAP

Expects the topic `kp` (2 partitions), created over HTTP by tests/it/kafka_clients.rs.
Asserts what an application sees and exits non-zero on the first failure, naming it; prints
`result: {json}` for the Rust side to check over HTTP, then `ok: kafka-python`.
"""

import json
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

BOOTSTRAP = sys.argv[1]
TOPIC = "kp"
DEADLINE_S = 60


def consume(group, count, idle_ms=1500):
    """A group member that reads until `count` records came and `idle_ms` pass without more,
    commits synchronously and leaves the group."""
    consumer = KafkaConsumer(
        TOPIC, bootstrap_servers=BOOTSTRAP, group_id=group, auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    records = []
    deadline = time.monotonic() + DEADLINE_S
    quiet_since = None
    while True:
        batch = consumer.poll(timeout_ms=200)
        for messages in batch.values():
            records.extend(messages)
        if batch:
            consumer.commit()
            quiet_since = None
        elif len(records) >= count:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= idle_ms / 1000:
                break
        assert time.monotonic() < deadline, f"only {len(records)} of {count} records in {DEADLINE_S} s"
    partitions = [TopicPartition(TOPIC, p) for p in (0, 1)]
    committed = {tp.partition: consumer.committed(tp) for tp in partitions}
    ends = {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
    consumer.close()
    return records, committed, ends


producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", compression_type="gzip", linger_ms=5)
futures = [
    (i, producer.send(TOPIC, key=f"k{i % 4}".encode(), value=f"kp-{i}".encode(), headers=[("i", str(i).encode())]))
    for i in range(20)
]
producer.flush(timeout=DEADLINE_S)
delivered = {}
for i, future in futures:
    meta = future.get(timeout=DEADLINE_S)
    assert (meta.partition, meta.offset) not in delivered, f"offset acknowledged twice: {meta}"
    delivered[(meta.partition, meta.offset)] = f"kp-{i}"
for p in {p for p, _ in delivered}:
    offsets = sorted(o for q, o in delivered if q == p)
    assert offsets == list(range(len(offsets))), f"partition {p}: offsets {offsets}"

records, committed, ends = consume("kp-group", 20)
assert len(records) == 20, f"{len(records)} records consumed"
for r in records:
    assert delivered[(r.partition, r.offset)] == r.value.decode(), (r.partition, r.offset, r.value)
    assert dict(r.headers)["i"] == r.value.decode().split("-")[1].encode(), r.headers
assert committed == ends, f"committed {committed}, end offsets {ends}"

# The group resumes after its commits: a new member reads only what came since.
for i in range(20, 25):
    producer.send(TOPIC, key=b"later", value=f"kp-{i}".encode()).get(timeout=DEADLINE_S)
producer.close()
records, committed, ends = consume("kp-group", 5)
assert sorted(r.value.decode() for r in records) == [f"kp-{i}" for i in range(20, 25)], [r.value for r in records]
assert committed == ends, f"committed {committed}, end offsets {ends}"

print("result: " + json.dumps({"delivered": [[p, o, v] for (p, o), v in sorted(delivered.items())],
                               "committed": committed}))
print("ok: kafka-python")
