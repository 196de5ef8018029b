"""Drives a running Herald through confluent-kafka's SchemaRegistryClient and serializers.

Usage: python client_test.py http://127.0.0.1:PORT [API_PROFILE]

API_PROFILE is the server's `api_profile` (7, the default, or 8); it decides the error code
an incompatible registration answers (409 under 7, 40901 under 8).

Every check asserts what a client application would see; the script exits non-zero on the
first failure, naming it.
"""

import json
import sys

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

URL = sys.argv[1]
PROFILE = sys.argv[2] if len(sys.argv) > 2 else "7"
INCOMPATIBLE = {"7": 409, "8": 40901}[PROFILE]

PAYMENT_V1 = json.dumps({
    "type": "record", "name": "Payment", "namespace": "com.acme",
    "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "double"}],
})
PAYMENT_V2 = json.dumps({
    "type": "record", "name": "Payment", "namespace": "com.acme",
    "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "double"},
               {"name": "currency", "type": "string", "default": "EUR"}],
})
PAYMENT_BREAKING = json.dumps({
    "type": "record", "name": "Payment", "namespace": "com.acme",
    "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "double"},
               {"name": "payer", "type": "string"}],
})
ORDER_V1 = json.dumps({
    "type": "object", "properties": {"id": {"type": "string"}, "total": {"type": "number"}},
    "required": ["id"], "additionalProperties": False,
})
ORDER_BREAKING = json.dumps({
    "type": "object", "properties": {"id": {"type": "integer"}, "total": {"type": "number"}},
    "required": ["id"], "additionalProperties": False,
})


def expect_error(call, status, code):
    try:
        call()
    except SchemaRegistryError as err:
        assert (err.http_status_code, err.error_code) == (status, code), (err.http_status_code, err.error_code, err)
        return err
    raise AssertionError(f"expected HTTP {status} / {code}, the call succeeded")


def avro(client):
    subject = "payments-value"
    v1 = client.register_schema(subject, Schema(PAYMENT_V1, "AVRO"))
    assert client.register_schema(subject, Schema(PAYMENT_V1, "AVRO")) == v1, "re-registering keeps the id"

    fetched = client.get_schema(v1)
    assert json.loads(fetched.schema_str) == json.loads(PAYMENT_V1), fetched.schema_str
    assert fetched.schema_type == "AVRO"

    assert client.test_compatibility(subject, Schema(PAYMENT_V2, "AVRO")) is True
    assert client.test_compatibility(subject, Schema(PAYMENT_BREAKING, "AVRO")) is False
    assert client.test_compatibility_all_versions(subject, Schema(PAYMENT_BREAKING, "AVRO")) is False
    err = expect_error(lambda: client.register_schema(subject, Schema(PAYMENT_BREAKING, "AVRO")), 409, INCOMPATIBLE)
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in str(err), str(err)

    v2 = client.register_schema(subject, Schema(PAYMENT_V2, "AVRO"))
    assert v2 != v1
    assert client.get_versions(subject) == [1, 2]
    latest = client.get_latest_version(subject)
    assert (latest.schema_id, latest.version, latest.subject) == (v2, 2, subject)
    first = client.get_version(subject, 1)
    assert (first.schema_id, first.version) == (v1, 1)
    found = client.lookup_schema(subject, Schema(PAYMENT_V1, "AVRO"))
    assert (found.schema_id, found.version) == (v1, 1)
    expect_error(lambda: client.lookup_schema(subject, Schema(PAYMENT_BREAKING, "AVRO")), 404, 40403)
    assert subject in client.get_subjects()

    # Serializers: produce with auto-registration, consume by id.
    serializer = AvroSerializer(client, PAYMENT_V2)
    context = SerializationContext("payments", MessageField.VALUE)
    payload = serializer({"id": "p-1", "amount": 12.5, "currency": "USD"}, context)
    assert payload[0] == 0 and int.from_bytes(payload[1:5], "big") == v2, payload[:5]
    deserializer = AvroDeserializer(client)
    assert deserializer(payload, context) == {"id": "p-1", "amount": 12.5, "currency": "USD"}


def json_schema(client):
    subject = "orders-value"
    v1 = client.register_schema(subject, Schema(ORDER_V1, "JSON"))
    fetched = client.get_schema(v1)
    assert fetched.schema_type == "JSON", fetched.schema_type
    assert json.loads(fetched.schema_str) == json.loads(ORDER_V1)
    assert client.test_compatibility(subject, Schema(ORDER_BREAKING, "JSON")) is False
    expect_error(lambda: client.register_schema(subject, Schema(ORDER_BREAKING, "JSON")), 409, INCOMPATIBLE)
    found = client.lookup_schema(subject, Schema(ORDER_V1, "JSON"))
    assert found.schema_id == v1

    serializer = JSONSerializer(ORDER_V1, client)
    context = SerializationContext("orders", MessageField.VALUE)
    payload = serializer({"id": "o-1", "total": 3.5}, context)
    assert int.from_bytes(payload[1:5], "big") == v1
    deserializer = JSONDeserializer(None, schema_registry_client=client)
    assert deserializer(payload, context) == {"id": "o-1", "total": 3.5}


def config_and_deletes(client):
    assert client.get_compatibility() == "BACKWARD"
    # The client hands back the server's echo of the update request.
    assert client.set_compatibility(level="FULL") == {"compatibility": "FULL"}
    assert client.get_compatibility() == "FULL"
    assert client.set_compatibility(subject_name="payments-value", level="NONE") == {"compatibility": "NONE"}
    assert client.get_compatibility("payments-value") == "NONE"
    assert client.set_compatibility(level="BACKWARD") == {"compatibility": "BACKWARD"}

    assert client.update_mode("orders-value", "READONLY") == "READONLY"
    assert client.get_mode("orders-value") == "READONLY"
    expect_error(lambda: client.delete_subject("orders-value"), 422, 42205)
    assert client.update_mode("orders-value", "READWRITE") == "READWRITE"

    subject = "payments-value"
    assert client.delete_version(subject, 1) == 1
    assert client.get_versions(subject) == [2]
    expect_error(lambda: client.delete_version(subject, 1), 404, 40406)
    assert client.delete_version(subject, 1, permanent=True) == 1
    assert client.delete_subject(subject) == [2]
    assert subject not in client.get_subjects()
    expect_error(lambda: client.get_versions(subject), 404, 40401)
    assert client.delete_subject(subject, permanent=True) == [2]
    expect_error(lambda: client.delete_subject(subject), 404, 40401)
    assert client.get_contexts() == ["."]


def contexts(client):
    """Schema linking's target: a context with its own ids, read back by qualified subject."""
    subject = ":.staging:payments-value"
    staging_id = client.register_schema(subject, Schema(PAYMENT_V1, "AVRO"))
    assert staging_id == 1, f"a new context's ids start at 1, got {staging_id}"
    fetched = client.get_schema(staging_id, subject_name=subject)
    assert json.loads(fetched.schema_str) == json.loads(PAYMENT_V1), fetched.schema_str
    assert subject in client.get_subjects()
    assert client.get_versions(subject) == [1]
    assert client.get_latest_version(subject).subject == subject
    assert client.get_contexts() == [".", ".staging"], client.get_contexts()
    # The default context's id 1 (PAYMENT_V1, registered by `avro`) was deleted permanently
    # by `config_and_deletes`: asked without a subject, the id is the default context's.
    fresh = SchemaRegistryClient({"url": URL})
    expect_error(lambda: fresh.get_schema(staging_id), 404, 40403)

    # Serializers whose subject names the context: ids framed and resolved in it.
    def in_staging(ctx, record_name):
        return f":.staging:{ctx.topic}-value"

    conf = {"subject.name.strategy": in_staging}
    serializer = AvroSerializer(client, PAYMENT_V2, conf=conf)
    context = SerializationContext("payments", MessageField.VALUE)
    payload = serializer({"id": "p-9", "amount": 1.0, "currency": "CHF"}, context)
    framed = int.from_bytes(payload[1:5], "big")
    assert framed == 2, f"the next id of .staging, got {framed}"
    deserializer = AvroDeserializer(SchemaRegistryClient({"url": URL}), conf=conf)
    assert deserializer(payload, context) == {"id": "p-9", "amount": 1.0, "currency": "CHF"}

    # IMPORT into a fresh context, as schema linking does, while the default is in use.
    assert client.update_mode(":.linked:", "IMPORT") == "IMPORT"
    target = ":.linked:payments-value"
    imported = client.get_version(subject, 1)
    # The client registers without an explicit id: IMPORT refuses that, by its rules.
    expect_error(lambda: client.register_schema(target, Schema(PAYMENT_V1, "AVRO")), 422, 42205)
    assert client.update_mode(":.linked:", "READWRITE") == "READWRITE"
    assert client.register_schema(target, Schema(imported.schema.schema_str, "AVRO")) == 1
    assert client.get_contexts() == [".", ".linked", ".staging"], client.get_contexts()


def main():
    client = SchemaRegistryClient({"url": URL})
    for check in (avro, json_schema, config_and_deletes, contexts):
        check(client)
        print(f"ok: {check.__name__}")
    # A fresh client (no caches) sees the same state.
    fresh = SchemaRegistryClient({"url": URL})
    assert fresh.get_subjects() == [":.linked:payments-value", ":.staging:payments-value", "orders-value"], \
        fresh.get_subjects()
    print("ok: all checks")


if __name__ == "__main__":
    main()
