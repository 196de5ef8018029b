"""confluent-kafka (librdkafka) against a Herald whose Kafka listener requires SASL: PLAIN,
SCRAM-SHA-256 (bob's producer) and SCRAM-SHA-512 (bob's consumer).

Usage: python kafka_sasl_test.py BOOTSTRAP ADMIN:PASSWORD BOB:PASSWORD [CA_FILE]

With CA_FILE, the listener takes TLS (SASL_SSL) and its certificate is checked against it.

The admin creates `bob-events` and `orders`; bob (allowed to produce and consume topics
`bob-*` in groups `bob-*`) produces, consumes and commits there, and every step outside
his grants fails with the authorization error a Kafka broker gives.
"""

import sys

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

BOOTSTRAP, ADMIN, BOB = sys.argv[1], sys.argv[2], sys.argv[3]
CA_FILE = sys.argv[4] if len(sys.argv) > 4 else None


def sasl(credentials, mechanism="PLAIN"):
    user, password = credentials.split(":", 1)
    settings = {
        "bootstrap.servers": BOOTSTRAP,
        "security.protocol": "SASL_SSL" if CA_FILE else "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": password,
    }
    if CA_FILE:
        settings["ssl.ca.location"] = CA_FILE
    return settings


def main():
    admin = AdminClient(sasl(ADMIN))
    for future in admin.create_topics([NewTopic("bob-events", 1), NewTopic("orders", 1)]).values():
        future.result(30)
    print("ok: admin created topics")

    producer = Producer({**sasl(BOB, "SCRAM-SHA-256"), "acks": "all"})
    delivered = []
    refused = []

    def report(err, msg):
        (refused if err else delivered).append(err or msg.offset())

    for i in range(5):
        producer.produce("bob-events", value=f"e-{i}".encode(), on_delivery=report)
    producer.flush(30)
    assert delivered == [0, 1, 2, 3, 4], (delivered, refused)
    # Refused either at once (the client already knows from Metadata) or in the report.
    try:
        producer.produce("orders", value=b"nope", on_delivery=report)
        producer.flush(30)
    except KafkaException as err:
        refused.append(err.args[0])
    assert len(refused) == 1 and refused[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, refused
    print("ok: bob produces to his topic and is refused others")

    consumer = Consumer({**sasl(BOB, "SCRAM-SHA-512"), "group.id": "bob-readers", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    consumer.subscribe(["bob-events"])
    seen = []
    while len(seen) < 5:
        msg = consumer.poll(10)
        assert msg is not None, f"timed out after {seen}"
        assert not msg.error(), msg.error()
        seen.append(msg.value().decode())
    consumer.commit(asynchronous=False)
    committed = consumer.committed([TopicPartition("bob-events", 0)], timeout=10)
    assert committed[0].offset == 5, committed
    consumer.close()
    print("ok: bob consumes and commits in his group")

    outsider = Consumer({**sasl(BOB), "group.id": "other-readers", "auto.offset.reset": "earliest"})
    outsider.subscribe(["bob-events"])
    error = None
    for _ in range(20):
        msg = outsider.poll(1)
        if msg is not None and msg.error():
            error = msg.error()
            break
    outsider.close()
    assert error is not None and error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED, error
    print("ok: a group outside his grants is refused")

    bob_admin = AdminClient(sasl(BOB))
    try:
        bob_admin.create_topics([NewTopic("bob-more", 1)])["bob-more"].result(30)
        raise AssertionError("bob created a topic")
    except KafkaException as err:
        assert err.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err
    listed = bob_admin.list_topics(timeout=10).topics
    assert set(listed) == {"bob-events"}, sorted(listed)
    print("ok: bob cannot create topics and sees only his own")

    wrong = Producer({**sasl(BOB.split(":")[0] + ":wrong-password"), "message.timeout.ms": 5000})
    errors = []
    wrong.produce("bob-events", value=b"x", on_delivery=lambda err, msg: errors.append(err))
    wrong.flush(10)
    assert errors and errors[0] is not None, errors
    print("ok: a wrong password delivers nothing")
    print("ok: all checks")


if __name__ == "__main__":
    main()
