"""Drives a Herald with security on through confluent-kafka's SchemaRegistryClient: Basic
credentials (`basic.auth.user.info`), a static bearer token
(`bearer.auth.credentials.source=STATIC_TOKEN`), and the refusals a client sees.

Usage: python auth_test.py URL ADMIN_USER:ADMIN_PASSWORD READONLY_TOKEN [CA_FILE]

With CA_FILE the server is reached over HTTPS and its certificate checked against it
(`ssl.ca.location`).
"""

import json
import sys

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

URL, USER_INFO, TOKEN = sys.argv[1], sys.argv[2], sys.argv[3]
TLS = {"ssl.ca.location": sys.argv[4]} if len(sys.argv) > 4 else {}

PAYMENT = json.dumps({
    "type": "record", "name": "Payment", "namespace": "com.acme",
    "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "double"}],
})
PAYMENT_V2 = json.dumps({
    "type": "record", "name": "Payment", "namespace": "com.acme",
    "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "double"},
               {"name": "note", "type": "string", "default": ""}],
})


def expect_error(call, status, code):
    try:
        call()
    except SchemaRegistryError as err:
        assert (err.http_status_code, err.error_code) == (status, code), (err.http_status_code, err.error_code, err)
        return err
    raise AssertionError(f"expected HTTP {status} / {code}, the call succeeded")


def main():
    admin = SchemaRegistryClient({"url": URL, "basic.auth.user.info": USER_INFO, **TLS})
    schema_id = admin.register_schema("payments-value", Schema(PAYMENT, "AVRO"))
    assert admin.get_subjects() == ["payments-value"]
    print("ok: basic auth registers")

    serializer = AvroSerializer(admin, PAYMENT)
    context = SerializationContext("payments", MessageField.VALUE)
    payload = serializer({"id": "p-1", "amount": 2.5}, context)
    assert int.from_bytes(payload[1:5], "big") == schema_id
    print("ok: serializer with basic auth")

    anonymous = SchemaRegistryClient({"url": URL, **TLS})
    expect_error(anonymous.get_subjects, 401, 40101)
    user = USER_INFO.split(":", 1)[0]
    wrong = SchemaRegistryClient({"url": URL, "basic.auth.user.info": f"{user}:not-the-password", **TLS})
    expect_error(wrong.get_subjects, 401, 40101)
    print("ok: missing and wrong credentials are 401")

    reader = SchemaRegistryClient({
        "url": URL,
        "bearer.auth.credentials.source": "STATIC_TOKEN",
        "bearer.auth.token": TOKEN,
        "bearer.auth.logical.cluster": "lsrc-herald",
        "bearer.auth.identity.pool.id": "pool-1",
        **TLS,
    })
    assert reader.get_subjects() == ["payments-value"]
    fetched = reader.get_schema(schema_id)
    assert json.loads(fetched.schema_str) == json.loads(PAYMENT)
    deserializer = AvroDeserializer(reader)
    assert deserializer(payload, context) == {"id": "p-1", "amount": 2.5}
    err = expect_error(lambda: reader.register_schema("payments-value", Schema(PAYMENT_V2, "AVRO")), 403, 40301)
    assert "User is denied operation Write on Subject: payments-value" in str(err), str(err)
    expect_error(lambda: reader.set_compatibility(level="NONE"), 403, 40301)
    print("ok: a readonly token reads and is refused writes")
    print("ok: all checks")


if __name__ == "__main__":
    main()
