"""librdkafka (confluent-kafka) side of bench/kafka-compare.sh: the same client, with the same
settings, against Apache Kafka and against Herald's Kafka listener.

  produce BOOTSTRAP TOPICS RECORDS [--keyed] [--payload-file F]
      RECORDS records of 1 KiB, acks=all, librdkafka's defaults otherwise (linger.ms 5, sticky
      partitioner for unkeyed records); TOPICS is comma-separated, records go round robin over
      them; --keyed gives each record its own key, so records hash over every partition (the
      many-partitions case). Prints records/s and MB/s from the first produce to the last ack.
  consume BOOTSTRAP TOPICS RECORDS
      A consumer-group member reading RECORDS from the earliest offsets; timed from the first
      record to the last (the group join before it is not counted, as ConsumerPerformance's
      fetch.* figures do not count it). fetch.queue.backoff.ms is 10 ms instead of 1 s.
  latency BOOTSTRAP TOPIC RATE SECONDS
      A producer at RATE records/s (acks=all) and a consumer polling; each record carries its
      send time; prints p50, p99 and max of produce-to-consume time.
  cold BOOTSTRAP TOPIC
      Started before the server: retries until one record is acknowledged, prints that moment
      (epoch seconds) on stdout.
  create BOOTSTRAP NAME PARTITIONS [NAME PARTITIONS …] / delete BOOTSTRAP NAME…
      Topics through the admin API (replication factor 1), waiting until they are done: the
      JVM's TopicCommand takes seconds per call here.
  avro-payloads FILE SCHEMA_ID
      Writes ~1 KiB Confluent-framed Avro payloads (magic 0, big-endian schema id, body), one
      per line, for ProducerPerformance --payload-file and `produce --payload-file`; prints the
      Avro schema they follow. Every byte is ASCII and none is a newline, so the Java tool's
      line-based, UTF-8 reading hands them over unchanged.
  protobuf-payloads FILE SCHEMA_ID
      The same for Protobuf: ~1 KiB framed messages (magic 0, schema id, message index [0],
      body) of 14 string fields numbered 2 to 15 (field 1's tag would be a newline byte);
      prints the `.proto` schema they follow.
"""

import json
import os
import struct
import sys
import threading
import time

SIZE = 1024
AVRO_FIELDS = 16
AVRO_FIELD_CHARS = 60  # zigzag(60) = 120 < 128: one length byte, ASCII 'x'


def producer(bootstrap, **extra):
    from confluent_kafka import Producer

    config = {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "queue.buffering.max.messages": 1000000,
        "queue.buffering.max.kbytes": 1048576,
        "message.timeout.ms": 120000,
    }
    config.update(extra)
    return Producer(config)


def produce(bootstrap, topics, records, keyed, payload_file):
    if payload_file:
        with open(payload_file, "rb") as f:
            payloads = [line for line in f.read().split(b"\n") if line]
    else:
        payloads = [os.urandom(SIZE // 2).hex().encode()[:SIZE] for _ in range(16)]
    failures = []
    acked = [0]

    def delivered(err, _msg):
        if err is not None:
            if len(failures) < 5:
                failures.append(str(err))
        else:
            acked[0] += 1

    p = producer(bootstrap)
    # Metadata first, so the timing starts with the connection up, as ProducerPerformance's
    # does after its first metadata request.
    p.list_topics(timeout=30)
    n_topics, n_payloads = len(topics), len(payloads)
    size = sum(len(x) for x in payloads) / n_payloads
    start = time.time()
    for i in range(records):
        key = str(i).encode() if keyed else None
        while True:
            try:
                p.produce(topics[i % n_topics], payloads[i % n_payloads], key=key, on_delivery=delivered)
                break
            except BufferError:
                p.poll(0.05)
        if i % 1000 == 0:
            p.poll(0)
    p.flush(120)
    elapsed = time.time() - start
    if failures or acked[0] != records:
        print(f"ERROR: {records - acked[0]} not acknowledged: {failures}", file=sys.stderr)
    print(f"{acked[0] / elapsed:.0f} records/s, {acked[0] * size / elapsed / 1e6:.1f} MB/s")


def consume(bootstrap, topics, records):
    from confluent_kafka import Consumer

    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{os.getpid()}-{time.time()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            # When the broker outruns this process, librdkafka's local queue fills (64 MiB)
            # and it stops fetching for fetch.queue.backoff.ms, 1 s by default: most of a
            # 200 MB run would be that pause, whichever broker it reads from.
            "fetch.queue.backoff.ms": 10,
        }
    )
    c.subscribe(topics)
    seen = bytes_seen = 0
    start = None
    deadline = time.time() + 120
    while seen < records and time.time() < deadline:
        for m in c.consume(num_messages=10000, timeout=1.0):
            if m.error():
                print(f"ERROR: {m.error()}", file=sys.stderr)
                continue
            if start is None:
                start = time.time()
            seen += 1
            bytes_seen += len(m.value())
    elapsed = time.time() - start if start else float("nan")
    c.close()
    if seen < records:
        print(f"ERROR: only {seen} of {records} records within 120 s", file=sys.stderr)
    print(f"{seen / elapsed:.0f} records/s, {bytes_seen / elapsed / 1e6:.1f} MB/s")


def latency(bootstrap, topic, rate, seconds):
    from confluent_kafka import Consumer, TopicPartition, OFFSET_END

    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"latency-{os.getpid()}",
            "enable.auto.commit": False,
        }
    )
    metadata = c.list_topics(topic, timeout=30)
    partitions = list(metadata.topics[topic].partitions)
    c.assign([TopicPartition(topic, p, OFFSET_END) for p in partitions])
    c.consume(timeout=1.0)  # connected and positioned at the end before the first record
    latencies = []
    stop = threading.Event()
    sent = [0]

    def reader():
        # One record per poll: consume(num_messages=…) waits for the whole batch or its
        # timeout, which would be measured as latency.
        while not stop.is_set() or len(latencies) < sent[0]:
            m = c.poll(0.1)
            if m is None:
                if stop.is_set():
                    break
                continue
            if not m.error():
                latencies.append(time.time() - struct.unpack(">d", m.value()[:8])[0])

    thread = threading.Thread(target=reader)
    thread.start()
    p = producer(bootstrap)
    p.list_topics(timeout=30)
    pad = b"x" * (SIZE - 8)
    started = time.time()
    interval = 1.0 / rate
    next_send = started
    while time.time() - started < seconds:
        now = time.time()
        while next_send <= now:
            p.produce(topic, struct.pack(">d", time.time()) + pad)
            sent[0] += 1
            next_send += interval
        p.poll(0)
        time.sleep(max(0.0, min(0.001, next_send - time.time())))
    p.flush(30)
    elapsed = time.time() - started
    time.sleep(1.0)
    stop.set()
    thread.join(timeout=10)
    c.close()
    latencies.sort()

    def pct(q):
        return latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000

    print(
        f"{sent[0] / elapsed:.0f} records/s, {len(latencies)} of {sent[0]} consumed; "
        f"p50 {pct(0.50):.1f} ms, p99 {pct(0.99):.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )


def cold(bootstrap, topic):
    done = []
    p = producer(
        bootstrap,
        **{
            "reconnect.backoff.ms": 5,
            "reconnect.backoff.max.ms": 20,
            "retry.backoff.ms": 5,
            "retry.backoff.max.ms": 20,
            "topic.metadata.refresh.interval.ms": 100,
            "socket.connection.setup.timeout.ms": 1000,
            "log_level": 0,
        },
    )
    p.produce(topic, b"x" * SIZE, on_delivery=lambda err, _m: done.append((err, time.time())))
    deadline = time.time() + 120
    while not done and time.time() < deadline:
        p.poll(0.001)
    if not done or done[0][0] is not None:
        print(f"ERROR: {done}", file=sys.stderr)
        sys.exit(1)
    print(f"{done[0][1]:.4f}")


def admin(bootstrap, command, args):
    from confluent_kafka.admin import AdminClient, NewTopic

    a = AdminClient({"bootstrap.servers": bootstrap})
    if command == "create":
        pairs = zip(args[0::2], args[1::2])
        futures = a.create_topics([NewTopic(name, int(n), 1) for name, n in pairs], operation_timeout=60)
    else:
        futures = a.delete_topics(args, operation_timeout=60)
    for name, future in futures.items():
        future.result()  # raises, naming the topic, if it failed
    if command == "create":  # until every partition has a leader
        names = set(args[0::2])
        deadline = time.time() + 60
        while time.time() < deadline:
            topics = a.list_topics(timeout=10).topics
            if all(n in topics and not topics[n].error and all(
                    p.leader >= 0 for p in topics[n].partitions.values()) for n in names):
                break
            time.sleep(0.1)


def avro_payloads(path, schema_id):
    fields = [{"name": f"f{i}", "type": "string"} for i in range(AVRO_FIELDS)]
    schema = {"type": "record", "name": "Padded", "namespace": "bench", "fields": fields}
    lines = []
    for n in range(64):
        body = b""
        for i in range(AVRO_FIELDS):
            text = (f"{n:02d}{i:02d}" + "abcdefghijklmnopqrstuvwxyz" * 3)[:AVRO_FIELD_CHARS]
            body += bytes([AVRO_FIELD_CHARS * 2]) + text.encode()
        lines.append(b"\x00" + struct.pack(">I", schema_id) + body)
    assert all(b"\n" not in line and max(line) < 0x80 for line in lines)
    with open(path, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    print(json.dumps(schema))


PROTO_FIELDS = range(2, 16)
PROTO_FIELD_CHARS = 70  # one length byte


def protobuf_payloads(path, schema_id):
    fields = "\n".join(f"  string f{n} = {n};" for n in PROTO_FIELDS)
    schema = f"syntax = \"proto3\";\npackage bench;\nmessage Padded {{\n{fields}\n}}\n"
    lines = []
    for k in range(64):
        body = b""
        for n in PROTO_FIELDS:
            text = (f"{k:02d}{n:02d}" + "abcdefghijklmnopqrstuvwxyz" * 3)[:PROTO_FIELD_CHARS]
            body += bytes([(n << 3) | 2, PROTO_FIELD_CHARS]) + text.encode()
        lines.append(b"\x00" + struct.pack(">I", schema_id) + b"\x00" + body)
    assert all(b"\n" not in line for line in lines)
    with open(path, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    print(schema)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "produce":
        payload_file = args[args.index("--payload-file") + 1] if "--payload-file" in args else None
        produce(args[0], args[1].split(","), int(args[2]), "--keyed" in args, payload_file)
    elif cmd == "consume":
        consume(args[0], args[1].split(","), int(args[2]))
    elif cmd == "latency":
        latency(args[0], args[1], int(args[2]), float(args[3]))
    elif cmd == "cold":
        cold(args[0], args[1])
    elif cmd in ("create", "delete"):
        admin(args[0], cmd, args[1:])
    elif cmd == "avro-payloads":
        avro_payloads(args[0], int(args[1]))
    elif cmd == "protobuf-payloads":
        protobuf_payloads(args[0], int(args[1]))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
