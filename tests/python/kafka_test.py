"""Drives Herald's Kafka listener with confluent-kafka (librdkafka), as an application would.

Usage: python kafka_test.py SCENARIO http://HTTP_ADDRESS KAFKA_BOOTSTRAP

Scenarios (tests/it/kafka_clients.rs runs each against a server of its own, having created
the topics they name over HTTP):
  produce      idempotent Producer, acks=all, 300 records to `orders` (3 partitions): every
               delivery report's offset read back by a Consumer, watermarks, offsets by time
  group        three Consumers of group `readers` on `events` (6 partitions): a rebalance
               that leaves every partition with exactly one member, every record consumed
               once, commits; then prints `restart`, reads a new bootstrap address from stdin
               and resumes the group from its commits
  admin        AdminClient create_topics (validate_only too), list_topics, describe_configs,
               describe_cluster, delete_topics, and the errors of bad requests
  serializers  SerializingProducer with AvroSerializer (`payments`) and JSONSerializer
               (`orders`) on Herald's registry; records the gate refuses fail in the delivery
               report with INVALID_RECORD and never land
  protobuf     ProtobufSerializer (with `_pb2` modules generated now by grpcio-tools from
               tests/python/proto) on Herald's registry: the import registered as a
               reference, records of the top-level and a nested message produced to
               `shop-orders` (validation full) and read back with ProtobufDeserializer; a
               wrong message index and an undecodable payload refused (Kafka and REST);
               `use.latest.version` reads the schema with ?format=serialized
  rules        confluent-kafka's AvroSerializer with its CEL rule executors (use.latest.version)
               and Herald's gate judge the same customers under the same rule, a rule set
               enabled for SERVER (`rules-server`), CLIENT (`rules-client`) and ALL
               (`rules-all`): each record's client verdict, then the server's on the bytes
               (framed without rules when the client refused), as a result line
  dead_letters an idempotent, lz4-compressing Producer sends customers to `dlq-customers`,
               whose rule set sends short ssns to `bad-customers` (onFailure DLQ): every
               delivery succeeds, the good records are read back at the offsets their reports
               gave, the diverted ones from `bad-customers` with their bytes, their headers
               and Confluent's `__rule.*` headers; a batch diverted whole leaves the producer's
               sequence intact for the next one
  redaction    on a server with security (HERALD_ADMIN and HERALD_READER hold `user:password`):
               the admin registers a schema whose `ssn` is tagged PII and produces a customer
               with AvroSerializer over SASL; both read it over HTTP (binary) and decode it
               with AvroDeserializer: the reader without the tag grant gets `<REDACTED>` and
               the Herald-Redacted header, the admin the record as produced
  crash        produces to `crash` until stdin closes, printing `ack PARTITION OFFSET PAYLOAD`
               for every acknowledged record (acks=all)

Each scenario asserts what a client application sees and exits non-zero on the first failure,
naming it. Lines starting with `result: ` carry JSON for the Rust side to check over HTTP.
"""

import gc
import json
import struct
import sys
import threading
import time
import urllib.request

from confluent_kafka import (
    OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, SerializingProducer,
    DeserializingConsumer, TopicPartition,
)
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

SCENARIO, HTTP, BOOTSTRAP = sys.argv[1], sys.argv[2], sys.argv[3]
DEADLINE_S = 60


def result(value):
    print("result: " + json.dumps(value), flush=True)


def http_get(path):
    """GET on Herald's HTTP API: (status, JSON body)."""
    try:
        with urllib.request.urlopen(HTTP + path, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def deliver(producer, sends):
    """Produces every (kwargs) in `sends` and waits for all delivery reports, in order."""
    reports = [None] * len(sends)

    def report(index):
        def on_delivery(err, msg):
            reports[index] = (err, msg)
        return on_delivery

    for index, kwargs in enumerate(sends):
        while True:
            try:
                producer.produce(on_delivery=report(index), **kwargs)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    left = producer.flush(DEADLINE_S)
    assert left == 0, f"{left} records still unacknowledged after {DEADLINE_S} s"
    assert all(r is not None for r in reports), "a delivery report is missing"
    return reports


def consume_until(consumers, count, seen=None, idle_s=0.0, commit=False):
    """Polls `consumers` in turn until `count` records came in total (and then `idle_s` more
    seconds to see that nothing else comes). Returns {consumer index: [messages]}."""
    got = seen if seen is not None else {i: [] for i in range(len(consumers))}
    deadline = time.monotonic() + DEADLINE_S
    settled = None
    while True:
        total = sum(len(v) for v in got.values())
        if total >= count:
            settled = settled or time.monotonic() + idle_s
            if time.monotonic() >= settled:
                return got
        assert time.monotonic() < deadline, f"only {total} of {count} records consumed in {DEADLINE_S} s"
        for index, consumer in enumerate(consumers):
            msg = consumer.poll(0.05)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            got[index].append(msg)
            if commit:
                consumer.commit(message=msg, asynchronous=False)


def produce():
    topic, count = "orders", 300
    producer = Producer({
        "bootstrap.servers": BOOTSTRAP, "enable.idempotence": True, "acks": "all",
        "compression.type": "lz4", "linger.ms": 5,
    })
    base = int(time.time() * 1000) - 10 * 60 * 1000
    sends = [
        dict(topic=topic, key=f"customer-{i % 7}".encode(), value=f"order-{i}".encode(),
             timestamp=base + i * 1000, headers=[("source", b"python"), ("n", str(i).encode())])
        for i in range(count)
    ]
    reports = deliver(producer, sends)
    delivered = {}
    partition_of_key = {}
    for i, (err, msg) in enumerate(reports):
        assert err is None, f"record {i} refused: {err}"
        assert (msg.topic(), msg.value()) == (topic, sends[i]["value"])
        key = sends[i]["key"]
        assert partition_of_key.setdefault(key, msg.partition()) == msg.partition(), "one key, one partition"
        assert (msg.partition(), msg.offset()) not in delivered, f"offset {msg.offset()} acknowledged twice"
        delivered[(msg.partition(), msg.offset())] = (i, sends[i])
    # Offsets are dense from 0 in every partition, in the order produced.
    partitions = sorted({p for p, _ in delivered})
    assert len(partitions) > 1, f"keys spread over partitions: {partitions}"
    for p in partitions:
        offsets = sorted(o for q, o in delivered if q == p)
        assert offsets == list(range(len(offsets))), f"partition {p}: offsets {offsets[:10]}..."
        indexes = [delivered[(p, o)][0] for o in offsets]
        assert indexes == sorted(indexes), f"partition {p} keeps the produce order"

    consumer = Consumer({
        "bootstrap.servers": BOOTSTRAP, "group.id": "produce-check", "enable.auto.commit": False,
    })
    for p in range(3):
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        expected = sum(1 for q, _ in delivered if q == p)
        assert (low, high) == (0, expected), f"partition {p} watermarks {(low, high)}, expected {(0, expected)}"
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(3)])
    got = consume_until([consumer], count)[0]
    assert len(got) == count, len(got)
    for msg in got:
        i, sent = delivered[(msg.partition(), msg.offset())]
        assert (msg.key(), msg.value()) == (sent["key"], sent["value"]), (msg.partition(), msg.offset())
        assert msg.timestamp()[1] == sent["timestamp"], (msg.timestamp(), sent["timestamp"])
        assert msg.headers() == sent["headers"], (msg.headers(), sent["headers"])
    # ListOffsets by timestamp: the first record at or after a record's own time is that record.
    for p in partitions:
        offsets = sorted(o for q, o in delivered if q == p)
        middle = offsets[len(offsets) // 2]
        wanted = delivered[(p, middle)][1]["timestamp"]
        [found] = consumer.offsets_for_times([TopicPartition(topic, p, wanted)], timeout=10)
        assert found.offset == middle, f"partition {p}: time {wanted} → offset {found.offset}, expected {middle}"
        [after] = consumer.offsets_for_times([TopicPartition(topic, p, base + 10**9)], timeout=10)
        assert after.offset in (-1, len(offsets)), f"a time after every record: {after.offset}"
    consumer.close()
    result({"delivered": [[p, o, s["value"].decode()] for (p, o), (_, s) in sorted(delivered.items())]})


def group():
    global BOOTSTRAP
    topic, group_id, partitions = "events", "readers", 6
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all", "linger.ms": 5})

    def produce_values(values):
        reports = deliver(producer, [dict(topic=topic, key=v.encode(), value=v.encode()) for v in values])
        for err, _ in reports:
            assert err is None, err

    owned = {}

    def member(name):
        consumer = Consumer({
            "bootstrap.servers": BOOTSTRAP, "group.id": group_id, "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
            "client.id": name,
        })

        def on_assign(c, assigned):
            owned[name] = {tp.partition for tp in assigned}

        def on_revoke(c, revoked):
            owned[name] = set()

        consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
        return consumer

    def wait_stable(consumers, names, seen):
        """Polls until every partition is owned by exactly one of `names` and each owns some."""
        deadline = time.monotonic() + DEADLINE_S
        while True:
            sets = [owned.get(n, set()) for n in names]
            union = set().union(*sets)
            if all(sets) and union == set(range(partitions)) and sum(map(len, sets)) == partitions:
                return sets
            assert time.monotonic() < deadline, f"no stable assignment in {DEADLINE_S} s: {owned}"
            for index, consumer in enumerate(consumers):
                msg = consumer.poll(0.05)
                if msg is not None:
                    assert msg.error() is None, msg.error()
                    seen[index].append(msg)
                    consumer.commit(message=msg, asynchronous=False)

    first = [f"early-{i}" for i in range(60)]
    produce_values(first)
    names = ["a", "b", "c"]
    consumers = [member("a")]
    seen = {0: [], 1: [], 2: []}
    wait_stable(consumers, ["a"], seen)
    consume_until(consumers, 60, seen=seen, commit=True)
    consumers += [member("b"), member("c")]
    sets = wait_stable(consumers, names, seen)
    # While the assignment is stable, the group's description agrees with the members.
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    listed = admin.list_consumer_groups().result(timeout=30)
    assert group_id in [g.group_id for g in listed.valid], listed.valid
    described = admin.describe_consumer_groups([group_id])[group_id].result(timeout=30)
    assert len(described.members) == 3, described.members
    described_parts = sorted(tp.partition for m in described.members for tp in m.assignment.topic_partitions)
    assert described_parts == list(range(partitions)), described_parts

    second = [f"late-{i}" for i in range(240)]
    produce_values(second)
    consume_until(consumers, 300, seen=seen, idle_s=1.0, commit=True)
    # Every record once, by the member that owned its partition.
    values = [m.value().decode() for msgs in seen.values() for m in msgs]
    assert sorted(values) == sorted(first + second), f"{len(values)} consumed, duplicates or gaps"
    for index, name in enumerate(names):
        late = {m.partition() for m in seen[index] if m.value().startswith(b"late-")}
        assert late <= sets[index], f"{name} read partitions {late} but owned {sets[index]}"
        assert late, f"{name} consumed nothing after the rebalance"
    committed = consumers[0].committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    ends = {p: consumers[0].get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)}
    for tp in committed:
        assert tp.offset == ends[tp.partition], f"partition {tp.partition} committed {tp.offset}, end {ends[tp.partition]}"
    for consumer in consumers:
        consumer.close()
    producer.flush(10)
    # No connection of this process stays open across the restart.
    del producer, admin, consumers
    gc.collect()
    result({"committed": {str(p): ends[p] for p in range(partitions)}})

    # The server restarts (same data directory, maybe a new port); the Rust side produces
    # 30 records `{"after": n}` over HTTP meanwhile and hands over the new bootstrap address.
    print("restart", flush=True)
    BOOTSTRAP = sys.stdin.readline().strip()
    assert BOOTSTRAP, "no bootstrap address after the restart"
    owned.clear()
    consumers = [member(n) for n in names]
    seen = {0: [], 1: [], 2: []}
    consume_until(consumers, 30, seen=seen, idle_s=2.0, commit=True)
    values = sorted(json.loads(m.value())["after"] for msgs in seen.values() for m in msgs)
    assert values == list(range(30)), f"after the restart the group read {values}, not just the 30 new records"
    for index, msgs in seen.items():
        for m in msgs:
            assert m.offset() >= ends[m.partition()], f"re-read offset {m.offset()} of partition {m.partition()}"
    for consumer in consumers:
        consumer.close()


def admin():
    client = AdminClient({"bootstrap.servers": BOOTSTRAP})

    def error_of(future):
        try:
            future.result(timeout=30)
        except KafkaException as err:
            return err.args[0]
        raise AssertionError("expected an error, the call succeeded")

    cluster = client.describe_cluster().result(timeout=30)
    assert len(cluster.nodes) == 1, cluster.nodes
    node = cluster.nodes[0]
    assert f"{node.host}:{node.port}" == BOOTSTRAP, f"{node.host}:{node.port} advertised, bootstrap {BOOTSTRAP}"

    # validate_only: answered, nothing created.
    futures = client.create_topics([NewTopic("admin-a", num_partitions=3, replication_factor=1)], validate_only=True)
    futures["admin-a"].result(timeout=30)
    assert "admin-a" not in client.list_topics(timeout=30).topics, "validate_only created the topic"
    assert http_get("/topics/admin-a")[0] == 404

    new = [
        NewTopic("admin-a", num_partitions=3, replication_factor=1, config={"retention.ms": "3600000"}),
        NewTopic("admin-b", num_partitions=1, replication_factor=1),
    ]
    for name, future in client.create_topics(new).items():
        future.result(timeout=30)
    metadata = client.list_topics(timeout=30)
    assert sorted(metadata.topics["admin-a"].partitions) == [0, 1, 2], metadata.topics["admin-a"].partitions
    assert list(metadata.topics["admin-b"].partitions) == [0]
    for p in metadata.topics["admin-a"].partitions.values():
        assert p.leader == node.id and p.replicas == [node.id], (p.leader, p.replicas)
    # The same topics over HTTP, with the setting given as a config.
    status, topic = http_get("/topics/admin-a")
    assert status == 200 and len(topic["partitions"]) == 3, topic
    assert topic["configs"]["retention.ms"] == "3600000", topic["configs"]

    # DescribeConfigs: the value set, and every config with a value.
    resource = ConfigResource(ResourceType.TOPIC, "admin-a")
    configs = client.describe_configs([resource])[resource].result(timeout=30)
    assert configs["retention.ms"].value == "3600000", configs["retention.ms"]
    assert not configs["retention.ms"].is_default
    assert all(entry.value is not None for entry in configs.values()), configs
    configs_b = client.describe_configs([ConfigResource(ResourceType.TOPIC, "admin-b")])
    configs_b = list(configs_b.values())[0].result(timeout=30)
    assert configs_b["retention.ms"].is_default, configs_b["retention.ms"]

    # Bad requests: each answered with its error, nothing changed.
    err = error_of(client.create_topics([NewTopic("admin-a", num_partitions=1, replication_factor=1)])["admin-a"])
    assert err.code() == KafkaError.TOPIC_ALREADY_EXISTS, err
    err = error_of(client.create_topics([NewTopic("../etc", num_partitions=1, replication_factor=1)])["../etc"])
    assert err.code() == KafkaError.TOPIC_EXCEPTION, err
    err = error_of(client.delete_topics(["never-made"], operation_timeout=30)["never-made"])
    assert err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART, err
    missing = ConfigResource(ResourceType.TOPIC, "never-made")
    err = error_of(client.describe_configs([missing])[missing])
    assert err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART, err

    client.delete_topics(["admin-b"], operation_timeout=30)["admin-b"].result(timeout=30)
    topics = client.list_topics(timeout=30).topics
    assert "admin-b" not in topics and "admin-a" in topics, sorted(topics)
    assert http_get("/topics/admin-b")[0] == 404
    result({"topics": sorted(t for t in topics if not t.startswith("__"))})


def serializers():
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext, StringSerializer

    registry = SchemaRegistryClient({"url": HTTP})
    payment = json.dumps({
        "type": "record", "name": "Payment", "namespace": "com.acme",
        "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "double"}],
    })
    order = json.dumps({
        "$schema": "http://json-schema.org/draft-07/schema#", "title": "Order", "type": "object",
        "properties": {"id": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}},
        "required": ["id"], "additionalProperties": False,
    })
    avro = AvroSerializer(registry, payment)
    json_ser = JSONSerializer(order, registry)

    def serializing(value_serializer):
        return SerializingProducer({
            "bootstrap.servers": BOOTSTRAP, "acks": "all", "enable.idempotence": True,
            "key.serializer": StringSerializer(), "value.serializer": value_serializer,
        })

    def produce_all(producer, topic, values):
        reports = []
        for value in values:
            producer.produce(topic, key=value["id"], value=value,
                             on_delivery=lambda err, msg: reports.append((err, msg)))
        assert producer.flush(DEADLINE_S) == 0
        for err, _ in reports:
            assert err is None, err
        return sorted(msg.offset() for _, msg in reports)

    payments = [{"id": f"p-{i}", "amount": 10.5 * i} for i in range(3)]
    assert produce_all(serializing(avro), "payments", payments) == [0, 1, 2]
    orders = [{"id": f"o-{i}", "qty": i + 1} for i in range(2)]
    assert produce_all(serializing(json_ser), "orders", orders) == [0, 1]

    def read_back(topic, deserializer, count):
        consumer = DeserializingConsumer({
            "bootstrap.servers": BOOTSTRAP, "group.id": f"{topic}-readers",
            "auto.offset.reset": "earliest", "value.deserializer": deserializer,
        })
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        values = []
        deadline = time.monotonic() + DEADLINE_S
        while len(values) < count:
            assert time.monotonic() < deadline, f"{topic}: only {values}"
            msg = consumer.poll(0.2)
            if msg is not None:
                assert msg.error() is None, msg.error()
                values.append(msg.value())
        consumer.close()
        return values

    assert read_back("payments", AvroDeserializer(registry), 3) == payments
    assert read_back("orders", JSONDeserializer(order, schema_registry_client=registry), 2) == orders

    # Refused by the gate: delivered to the application as INVALID_RECORD, absent from the log.
    # linger.ms long enough that records produced together share a batch on a busy machine.
    raw = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all", "linger.ms": 1000})
    elsewhere = registry.register_schema("elsewhere-value", Schema('{"type": "string"}', "AVRO"))
    good_avro = avro({"id": "p-good", "amount": 1.0}, SerializationContext("payments", MessageField.VALUE))
    foreign = b"\x00" + struct.pack(">I", elsewhere) + good_avro[5:]
    order_id = registry.get_latest_version("orders-value").schema_id
    invalid_json = b"\x00" + struct.pack(">I", order_id) + b'{"id": 3, "qty": 0}'

    # One batch (same partition, within linger.ms): a valid record and a foreign id.
    reports = deliver(raw, [dict(topic="payments", partition=0, value=good_avro),
                            dict(topic="payments", partition=0, value=foreign)])
    refused = [(err.code() if err else None) for err, _ in reports]
    assert refused[1] == KafkaError.INVALID_RECORD, [str(e) for e, _ in reports]
    # Herald refuses the batch whole. librdkafka may then send the valid record again on
    # its own (KIP-467 names only the invalid one), and that new batch lands; either way
    # the refused batch itself left nothing, which the caller checks in the log.
    resent = 1 if refused[0] is None else 0
    if resent:
        assert reports[0][1].offset() == 3, reports[0][1].offset()
    [(err, _)] = deliver(raw, [dict(topic="orders", partition=0, value=invalid_json)])
    assert err is not None and err.code() == KafkaError.INVALID_RECORD, err
    messages = [str(e) for e, _ in reports] + [str(err)]

    # Two partitions in one request (usually; linger.ms gathers them): the valid batch lands
    # at the next offset, since the refused batches took none, and the invalid one is
    # refused on its own.
    [(err, msg), (refused_err, _)] = deliver(raw, [dict(topic="payments", partition=0, value=good_avro),
                                                   dict(topic="orders", partition=0, value=invalid_json)])
    assert err is None and msg.offset() == 3 + resent, (err, msg and msg.offset())
    assert refused_err is not None and refused_err.code() == KafkaError.INVALID_RECORD, refused_err
    check = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "serializers-check"})
    assert check.get_watermark_offsets(TopicPartition("orders", 0), timeout=10) == (0, 2)
    assert check.get_watermark_offsets(TopicPartition("payments", 0), timeout=10) == (0, 4 + resent)
    check.close()
    result({"foreign": foreign.hex(), "invalid_json": invalid_json.hex(), "messages": messages,
            "resent": resent})


CUSTOMER_CANONICAL = """syntax = "proto3";
package shop.v1;

import "confluent/meta.proto";

message CustomerRegistered {
  option (confluent.message_meta) = {
    doc: "A customer signed up"
  };

  string id = 1;
  string email = 2 [(confluent.field_meta) = {
    tags: [
      "PII"
    ]
  }];
  string card_number = 3 [(confluent.field_meta) = {
    doc: "Primary account number",
    tags: [
      "PII",
      "PCI"
    ]
  }];
  string amount = 4 [(confluent.field_meta) = {
    params: [
      {
        value: "10",
        key: "precision"
      },
      {
        value: "2",
        key: "scale"
      }
    ]
  }];
}
"""


def protobuf():
    import importlib
    import os
    import tempfile

    import grpc_tools
    from grpc_tools import protoc
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    # Generated at test time: a _pb2 from another protoc than the runtime's fails to import.
    out = tempfile.mkdtemp()
    sources = os.path.join(os.path.dirname(os.path.abspath(__file__)), "proto")
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    code = protoc.main(["protoc", f"-I{sources}", f"-I{well_known}", f"--python_out={out}",
                        "common/money.proto", "shop/order.proto"])
    assert code == 0, f"protoc exited {code}"
    sys.path.insert(0, out)
    money_pb2 = importlib.import_module("common.money_pb2")
    order_pb2 = importlib.import_module("shop.order_pb2")
    Order = order_pb2.OrderPlaced

    registry = SchemaRegistryClient({"url": HTTP})
    context = SerializationContext("shop-orders", MessageField.VALUE)
    serialize = ProtobufSerializer(Order, registry, {"use.deprecated.format": False})
    orders = [
        Order(id=f"o-{i}", total=money_pb2.Money(minor=1000 * i, currency="EUR"),
              lines=[Order.Line(sku="A-1", quantity=i + 1)], attributes={"channel": "web"},
              card_token="tok", status=Order.STATUS_PAID, note="leave at the door")
        for i in range(3)
    ]
    payloads = [serialize(order, context) for order in orders]
    # The import became a subject of its own, referenced by the order's schema.
    status, latest = http_get("/subjects/shop-orders-value/versions/latest")
    assert status == 200, latest
    assert [r["name"] for r in latest["references"]] == ["common/money.proto"], latest
    assert latest["schemaType"] == "PROTOBUF"
    status, money = http_get("/subjects/common%2Fmoney.proto/versions/latest")
    assert status == 200 and "message Money" in money["schema"], money
    schema_id = latest["id"]
    assert all(p[:6] == b"\x00" + struct.pack(">I", schema_id) + b"\x00" for p in payloads)

    # A nested message: index path [0, 0], the same schema id.
    line = ProtobufSerializer(Order.Line, registry, {"use.deprecated.format": False})(
        Order.Line(sku="B-2", quantity=7), context)
    assert line[1:5] == struct.pack(">I", schema_id) and line[5:8] == b"\x04\x00\x00", line[:8].hex()

    # use.latest.version: the serializer reads the latest schema (?format=serialized).
    latest_serializer = ProtobufSerializer(Order, registry, {
        "use.deprecated.format": False, "auto.register.schemas": False, "use.latest.version": True})
    again = latest_serializer(orders[0], context)
    assert again == payloads[0], (again.hex(), payloads[0].hex())

    # normalize.schemas: the serializer registers with ?normalize=true; Herald stores
    # Confluent's normalised text (type names qualified), and the same class finds it again.
    normalized_context = SerializationContext("shop-orders-normalized", MessageField.VALUE)
    normalizing = ProtobufSerializer(Order, registry, {
        "use.deprecated.format": False, "normalize.schemas": True})
    first = normalizing(orders[0], normalized_context)
    status, stored = http_get("/subjects/shop-orders-normalized-value/versions/latest")
    assert status == 200, stored
    assert "repeated .shop.v1.OrderPlaced.Line lines = 3;" in stored["schema"], stored["schema"]
    assert "map<string, string> attributes = 4;" in stored["schema"], stored["schema"]
    again_normalized = ProtobufSerializer(Order, SchemaRegistryClient({"url": HTTP}), {
        "use.deprecated.format": False, "normalize.schemas": True})(orders[0], normalized_context)
    assert again_normalized == first, (again_normalized.hex(), first.hex())
    status, versions = http_get("/subjects/shop-orders-normalized-value/versions")
    assert versions == [1], versions
    assert ProtobufDeserializer(Order, {"use.deprecated.format": False})(first, normalized_context) == orders[0]

    # skip.known.types=False: the well-known timestamp.proto is registered as a subject of
    # its own and referenced, as the serializer does for any import; Herald takes it.
    known_context = SerializationContext("shop-orders-known", MessageField.VALUE)
    with_known = ProtobufSerializer(Order, SchemaRegistryClient({"url": HTTP}), {
        "use.deprecated.format": False, "skip.known.types": False})
    known_payload = with_known(orders[1], known_context)
    status, known = http_get("/subjects/shop-orders-known-value/versions/latest")
    assert status == 200, known
    assert sorted(r["name"] for r in known["references"]) == [
        "common/money.proto", "google/protobuf/timestamp.proto"], known["references"]
    status, timestamp = http_get("/subjects/google%2Fprotobuf%2Ftimestamp.proto/versions/latest")
    assert status == 200 and "message Timestamp" in timestamp["schema"], timestamp
    assert ProtobufDeserializer(Order, {"use.deprecated.format": False})(known_payload, known_context) == orders[1]

    # Confluent's meta options travel in the descriptor as extensions; the stored text keeps
    # them as Confluent prints a descriptor's (tags are what redaction and rules match on).
    # The generated module imports `confluent.meta_pb2`, which the client ships under its
    # own package: one copy of confluent/meta.proto in the descriptor pool.
    from confluent_kafka.schema_registry import confluent as confluent_package
    from confluent_kafka.schema_registry.confluent import meta_pb2
    sys.modules.setdefault("confluent", confluent_package)
    sys.modules.setdefault("confluent.meta_pb2", meta_pb2)
    builtin = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "schema",
                           "protobuf", "builtin")
    code = protoc.main(["protoc", f"-I{sources}", f"-I{builtin}", f"-I{well_known}",
                        f"--python_out={out}", "shop/customer.proto"])
    assert code == 0, f"protoc exited {code}"
    Customer = importlib.import_module("shop.customer_pb2").CustomerRegistered
    customer_context = SerializationContext("shop-customers", MessageField.VALUE)
    customer = Customer(id="c-1", email="ada@example.com", card_number="4111111111111111", amount="12.50")
    customer_payload = ProtobufSerializer(Customer, registry, {"use.deprecated.format": False})(
        customer, customer_context)
    status, registered = http_get("/subjects/shop-customers-value/versions/latest")
    assert status == 200, registered
    assert "references" not in registered, registered
    assert registered["schema"] == CUSTOMER_CANONICAL, registered["schema"]
    # Read back as the serializer reads the latest version (?format=serialized): same id.
    latest_customer = ProtobufSerializer(Customer, registry, {
        "use.deprecated.format": False, "auto.register.schemas": False, "use.latest.version": True})
    assert latest_customer(customer, customer_context) == customer_payload
    assert ProtobufDeserializer(Customer, {"use.deprecated.format": False})(
        customer_payload, customer_context) == customer

    raw = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all", "linger.ms": 0})
    reports = deliver(raw, [dict(topic="shop-orders", partition=0, value=p) for p in payloads + [line]])
    assert all(err is None for err, _ in reports), [str(err) for err, _ in reports]

    # Refused by the gate: a message index naming no message, a payload that does not decode.
    wrong_index = payloads[0][:5] + b"\x02\x0a" + payloads[0][6:]
    undecodable = payloads[0][:6] + b"\x0a\xff\xff"
    refusals = []
    for bad in (wrong_index, undecodable):
        [(err, _)] = deliver(raw, [dict(topic="shop-orders", partition=0, value=bad)])
        assert err is not None and err.code() == KafkaError.INVALID_RECORD, err
        refusals.append(str(err))

    # The same refusals over the REST API, with the reason in the answer.
    import base64
    rest_reasons = []
    for bad in (wrong_index, undecodable):
        body = json.dumps({"records": [{"value": base64.b64encode(bad).decode()}]}).encode()
        request = urllib.request.Request(HTTP + "/topics/shop-orders", data=body, method="POST",
                                         headers={"Content-Type": "application/vnd.kafka.binary.v2+json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                raise AssertionError(f"REST produce of a bad payload answered {answer.status}")
        except urllib.error.HTTPError as err:
            rest_reasons.append((err.code, json.loads(err.read())))

    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "protobuf-readers",
                         "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition("shop-orders", 0, OFFSET_BEGINNING)])
    got = consume_until([consumer], 4)[0]
    consumer.close()
    deserialize = ProtobufDeserializer(Order, {"use.deprecated.format": False})
    read = [deserialize(m.value(), context) for m in got[:3]]
    assert read == orders, read
    nested = ProtobufDeserializer(Order.Line, {"use.deprecated.format": False})(got[3].value(), context)
    assert nested == Order.Line(sku="B-2", quantity=7), nested
    result({"schema_id": schema_id, "refusals": refusals, "rest": rest_reasons,
            "wrong_index": wrong_index.hex(), "undecodable": undecodable.hex()})


def rules():
    import io

    import fastavro
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.schema_registry.rules.cel.cel_executor import CelExecutor
    from confluent_kafka.schema_registry.rules.cel.cel_field_executor import CelFieldExecutor
    from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

    CelExecutor.register()
    CelFieldExecutor.register()
    registry = SchemaRegistryClient({"url": HTTP})
    # Rules run only against the registered version the serializer fetches.
    with_rules = AvroSerializer(registry, None, conf={"auto.register.schemas": False, "use.latest.version": True})
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all"})
    customers = [
        {"name": "Ada", "ssn": "123456789", "age": 36, "email": None},
        {"name": "Bob", "ssn": "12", "age": 40, "email": None},
        {"name": "Cy", "ssn": "987654321", "age": 9, "email": None},
    ]

    def without_rules(subject, record):
        latest = registry.get_latest_version(subject)
        out = io.BytesIO()
        out.write(b"\x00" + struct.pack(">I", latest.schema_id))
        fastavro.schemaless_writer(out, fastavro.parse_schema(json.loads(latest.schema.schema_str)), record)
        return out.getvalue()

    verdicts = {}
    for place in ["server", "client", "all"]:
        topic = f"rules-{place}"
        context = SerializationContext(topic, MessageField.VALUE)
        seen = []
        for customer in customers:
            try:
                data = with_rules(customer, context)
                client = "ok"
            except SerializationError as err:
                data = without_rules(f"{topic}-value", customer)
                client = f"refused: {err}"
            err, _ = deliver(producer, [{"topic": topic, "value": data}])[0]
            server = "ok" if err is None else f"refused: {err.name()}: {err.str()}"
            seen.append({"client": client, "server": server})
        verdicts[place] = seen
    result(verdicts)


def dead_letters():
    import io

    import fastavro
    from confluent_kafka.schema_registry import SchemaRegistryClient

    registry = SchemaRegistryClient({"url": HTTP})
    latest = registry.get_latest_version("dlq-customers-value")
    parsed = fastavro.parse_schema(json.loads(latest.schema.schema_str))

    def framed(customer):
        out = io.BytesIO()
        out.write(b"\x00" + struct.pack(">I", latest.schema_id))
        fastavro.schemaless_writer(out, parsed, customer)
        return out.getvalue()

    producer = Producer({
        "bootstrap.servers": BOOTSTRAP, "acks": "all", "enable.idempotence": True,
        "compression.type": "lz4", "linger.ms": 50,
    })

    def send(round_, ssns):
        sends = [{
            "topic": "dlq-customers", "partition": 0, "key": f"{round_}-{i}".encode(),
            "value": framed({"name": f"{round_}-{i}", "ssn": ssn, "age": 30, "email": None}),
            "headers": [("trace", f"t-{round_}-{i}".encode())],
        } for i, ssn in enumerate(ssns)]
        reports = deliver(producer, sends)
        for (err, _), kwargs in zip(reports, sends):
            assert err is None, f"{kwargs['key']}: {err}"
        return [(kwargs, msg.offset()) for (_, msg), kwargs in zip(reports, sends)]

    good, bad = "123456789", "12"
    # Mixed (one batch, lz4), then a batch diverted whole, then good ones: the idempotent
    # producer's sequences stay in order throughout.
    sent = send("a", [good, bad, good, bad, good, good]) + send("b", [bad, bad, bad]) + send("c", [good, good])
    diverted = [kwargs for kwargs, _ in sent if fastavro.schemaless_reader(
        io.BytesIO(kwargs["value"][5:]), parsed)["ssn"] == bad]
    landed = {kwargs["key"]: offset for kwargs, offset in sent if kwargs not in diverted}

    def read_all(topic, count):
        consumer = Consumer({
            "bootstrap.servers": BOOTSTRAP, "group.id": f"check-{topic}",
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
        })
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        got = consume_until([consumer], count, idle_s=1.0)[0]
        consumer.close()
        return got

    read = read_all("dlq-customers", len(landed))
    assert {m.key(): m.offset() for m in read} == landed, "the good records are where their reports said"
    letters = read_all("bad-customers", len(diverted))
    assert [m.key() for m in letters] == [k["key"] for k in diverted], [m.key() for m in letters]
    for message, kwargs in zip(letters, diverted):
        assert message.value() == kwargs["value"], "a dead letter holds the bytes as produced"
        headers = dict(message.headers())
        assert headers["trace"] == kwargs["headers"][0][1], headers
        assert headers["__rule.name"] == b"checkSsnLen", headers
        assert headers["__rule.mode"] == b"WRITE", headers
        assert headers["__rule.subject"] == b"dlq-customers-value", headers
        assert headers["__rule.topic"] == b"dlq-customers", headers
        assert b"size(message.ssn) == 9" in headers["__rule.exception"], headers
    result({"landed": sorted(landed.values()), "diverted": len(letters)})


def redaction():
    import base64
    import os

    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    admin, reader = os.environ["HERALD_ADMIN"], os.environ["HERALD_READER"]
    registry = SchemaRegistryClient({"url": HTTP, "basic.auth.user.info": admin})
    schema = json.dumps({"type": "record", "name": "Customer", "namespace": "acme", "fields": [
        {"name": "name", "type": "string"},
        {"name": "ssn", "type": "string", "confluent:tags": ["PII"]},
        {"name": "age", "type": "int"}]})
    context = SerializationContext("bob-customers", MessageField.VALUE)
    value = AvroSerializer(registry, schema)({"name": "Ada", "ssn": "123456789", "age": 36}, context)
    user, password = admin.split(":", 1)
    producer = Producer({
        "bootstrap.servers": BOOTSTRAP, "acks": "all", "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanisms": "PLAIN", "sasl.username": user, "sasl.password": password,
    })
    err, _ = deliver(producer, [{"topic": "bob-customers", "value": value}])[0]
    assert err is None, err
    deserialize = AvroDeserializer(registry)
    seen = {}
    for name, credentials in [("admin", admin), ("reader", reader)]:
        request = urllib.request.Request(
            HTTP + "/topics/bob-customers/partitions/0/records",
            headers={
                "Accept": "application/vnd.kafka.binary.v2+json",
                "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
            },
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            records = json.loads(answer.read())
            header = answer.headers.get("Herald-Redacted")
        payload = base64.b64decode(records[0]["value"])
        seen[name] = {"record": deserialize(payload, context), "header": header}
    assert seen["admin"]["record"] == {"name": "Ada", "ssn": "123456789", "age": 36}, seen
    assert seen["admin"]["header"] is None, seen
    assert seen["reader"]["record"] == {"name": "Ada", "ssn": "<REDACTED>", "age": 36}, seen
    assert seen["reader"]["header"] == "value.ssn", seen
    result(seen)


def crash():
    """Produces until stdin closes; every acknowledged record is printed as it is reported."""
    producer = Producer({
        "bootstrap.servers": BOOTSTRAP, "acks": "all", "enable.idempotence": True,
        "linger.ms": 2, "message.timeout.ms": 2000, "socket.timeout.ms": 1000,
        "reconnect.backoff.max.ms": 200,
    })
    closed = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), closed.set()), daemon=True).start()
    label = sys.argv[4]

    def on_delivery(err, msg):
        if err is None:
            print(f"ack {msg.partition()} {msg.offset()} {msg.value().decode()}", flush=True)

    # Bursts of 20 with a short poll between: about 2,000 records a second, enough for many
    # batches in flight at the kill without a flood of lines to check.
    seq = 0
    while not closed.is_set():
        for _ in range(20):
            producer.produce("crash", value=f"{label}-{seq:07d}".encode(), on_delivery=on_delivery)
            seq += 1
        producer.poll(0.01)
    producer.flush(10)
    print("done", flush=True)


{"produce": produce, "group": group, "admin": admin, "serializers": serializers, "protobuf": protobuf,
 "rules": rules, "dead_letters": dead_letters, "redaction": redaction, "crash": crash}[SCENARIO]()
print(f"ok: {SCENARIO}", flush=True)
