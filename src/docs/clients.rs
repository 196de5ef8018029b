//! The client snippets of a topic page: how to produce to and consume from one topic with
//! confluent-kafka (Python), the Java client, kcat and plain HTTP, written for that topic's
//! name, schema types, subject naming and validation, and for this server's addresses.
//!
//! Pure: text in, text out. The snippets are printed through the templates' formatter like
//! every other value, so nothing here escapes HTML; strings placed inside code are quoted
//! for the language they land in (topic names cannot need it, addresses from the
//! configuration might).

use serde_json::Value;

use super::model::{Clients, Endpoints, Snippet};
use crate::broker::topic::{SubjectStrategy, TopicConfig, Validation};
use crate::schema::SchemaType;

/// What the snippets depend on besides the topic's own settings.
pub struct ClientInputs<'a> {
    pub topic: &'a TopicConfig,
    /// The value subject's latest schema: its type and id.
    pub value: Option<(SchemaType, i64)>,
    /// The key subject's latest schema type.
    pub key: Option<SchemaType>,
    /// An event valid against the value schema (JSON text; Avro's JSON encoding for Avro).
    pub example: Option<&'a str>,
    /// The value schema references others: it cannot be parsed on its own.
    pub value_has_references: bool,
    /// For a Protobuf value: the name of its first message, the one REST Proxy and the
    /// snippets produce (serializers take a class generated from the schema).
    pub protobuf_message: Option<&'a str>,
}

/// The section for one topic: the Kafka snippets when the listener is on, HTTP always.
pub fn clients(inputs: &ClientInputs<'_>, endpoints: &Endpoints) -> Clients {
    let mut snippets = Vec::new();
    if let Some(bootstrap) = endpoints.kafka_bootstrap.as_deref() {
        let kafka = Kafka {
            inputs,
            bootstrap,
            registry: &endpoints.public_url,
        };
        snippets.push(Snippet {
            id: "python",
            title: "Python (confluent-kafka)",
            note: None,
            code: kafka.python(),
        });
        snippets.push(Snippet {
            id: "java",
            title: "Java (kafka-clients)",
            note: None,
            code: kafka.java(),
        });
        snippets.push(Snippet {
            id: "kcat",
            title: "kcat",
            note: kafka.kcat_note(),
            code: kafka.kcat(),
        });
    }
    snippets.push(Snippet {
        id: "http",
        title: "HTTP (REST Proxy v2)",
        note: None,
        code: http(inputs, &endpoints.public_url),
    });
    Clients {
        kafka_bootstrap: endpoints.kafka_bootstrap.clone(),
        registry_url: endpoints.public_url.clone(),
        snippets,
    }
}

/// Whether bytes as a tool types them (no Confluent framing) get past the topic's gate.
fn accepts_unframed(topic: &TopicConfig, value: Option<(SchemaType, i64)>) -> bool {
    topic.validation == Validation::Off || (topic.value_subject_strategy == SubjectStrategy::Topic && value.is_none())
}

/// The subject Confluent's serializers derive under TopicNameStrategy.
fn default_subject(topic: &str, part: &str) -> String {
    format!("{topic}-{part}")
}

struct Kafka<'a> {
    inputs: &'a ClientInputs<'a>,
    bootstrap: &'a str,
    registry: &'a str,
}

impl Kafka<'_> {
    fn topic(&self) -> &TopicConfig {
        self.inputs.topic
    }

    /// The serializers the topic needs: the value's (and the key's) schema type, or `None`
    /// when nothing is registered and the topic names subjects after the topic.
    fn value_type(&self) -> Option<SchemaType> {
        match (self.inputs.value, self.topic().value_subject_strategy) {
            (Some((kind, _)), _) => Some(kind),
            // Under a record strategy every value is framed, whatever the topic subject holds.
            (None, SubjectStrategy::Record | SubjectStrategy::TopicRecord) => Some(SchemaType::Avro),
            (None, SubjectStrategy::Topic) => None,
        }
    }

    fn python(&self) -> String {
        let topic = &self.topic().name;
        let group = py_str(&format!("{topic}-reader"));
        let bootstrap = py_str(self.bootstrap);
        let mut out = String::new();
        let Some(kind) = self.value_type() else {
            out.push_str(&format!(
                "from confluent_kafka import Consumer, Producer\n\n\
                 {REPORT}\n\
                 producer = Producer({{\"bootstrap.servers\": {bootstrap}}})\n\
                 producer.produce({t}, value={value}, on_delivery=report)\n\
                 producer.flush()\n\n\
                 {consumer}\
                 msg = consumer.poll(10.0)\n\
                 if msg is not None and msg.error() is None:\n    print(msg.value())\n\
                 consumer.close()\n",
                t = py_str(topic),
                value = python_bytes(self.inputs.example),
                consumer = python_consumer(&bootstrap, &group, topic),
            ));
            return out;
        };
        let (module, serializer, deserializer) = python_classes(kind);
        let key_kind = self.inputs.key;
        let strategy = python_strategy(self.topic().value_subject_strategy);
        let mut imports = vec![(module, serializer), (module, deserializer)];
        if let Some(key) = key_kind {
            let (m, s, _) = python_classes(key);
            imports.push((m, s));
        }
        imports.sort();
        imports.dedup();
        // An Avro example is in Avro's JSON encoding (unions wrapped); fastavro, which the Avro
        // serializer uses, reads it into the values the serializer takes, given the schema
        // (which must stand alone, without references).
        let avro_event = match (kind, strategy, self.inputs.example) {
            (SchemaType::Avro, None, Some(example)) if !self.inputs.value_has_references => Some(example),
            _ => None,
        };
        // Protobuf serializers take a generated message class: the snippet generates it from
        // the subject's latest schema with grpcio-tools' protoc, unless the schema imports
        // files of its own (then protoc needs those too, and the snippet says so).
        let proto_class = match kind {
            SchemaType::Protobuf => Some(self.inputs.protobuf_message.unwrap_or("Event")),
            _ => None,
        };
        let generate_class = proto_class.is_some() && !self.inputs.value_has_references;
        if avro_event.is_some() {
            out.push_str("import io\nimport json\n\n");
        }
        if generate_class {
            out.push_str("import subprocess\nimport sys\n\n");
        }
        out.push_str("from confluent_kafka import Consumer, SerializingProducer\n");
        match strategy {
            Some(function) => out.push_str(&format!(
                "from confluent_kafka.schema_registry import SchemaRegistryClient, {function}\n"
            )),
            None => out.push_str("from confluent_kafka.schema_registry import SchemaRegistryClient\n"),
        }
        let mut modules: Vec<(&str, Vec<&str>)> = Vec::new();
        for (module, class) in imports {
            match modules.iter_mut().find(|(m, _)| *m == module) {
                Some((_, classes)) => classes.push(class),
                None => modules.push((module, vec![class])),
            }
        }
        for (module, classes) in modules {
            out.push_str(&format!("from {module} import {}\n", classes.join(", ")));
        }
        out.push_str("from confluent_kafka.serialization import MessageField, SerializationContext\n");
        if avro_event.is_some() {
            out.push_str("from fastavro import json_reader, parse_schema\n");
        }
        if proto_class.is_some() {
            out.push_str("from google.protobuf import json_format\n");
        }
        out.push_str(&format!(
            "\nregistry = SchemaRegistryClient({{\"url\": {}}})\n\n{REPORT}\n",
            py_str(self.registry)
        ));
        if let Some(class) = proto_class {
            let module = python_module(topic);
            if generate_class {
                out.push_str(&format!(
                    "# The value's message class, generated from the subject's latest schema by protoc\n\
                     # (pip install grpcio-tools). The text is read with a client of its own: the\n\
                     # serializer's client caches the latest version in the form it asks for.\n\
                     latest = SchemaRegistryClient({{\"url\": {url}}}).get_latest_version({subject})\n\
                     with open(\"{module}.proto\", \"w\") as proto:\n    \
                     proto.write(latest.schema.schema_str)\n\
                     subprocess.run([sys.executable, \"-m\", \"grpc_tools.protoc\", \"-I.\", \"--python_out=.\", \"{module}.proto\"], check=True)\n",
                    subject = py_str(&self.topic().value_subject),
                    url = py_str(self.registry),
                ));
            } else {
                out.push_str(&format!(
                    "# {class}: the value's message class, generated by protoc from the subject's schema\n\
                     # and the files it imports.\n"
                ));
            }
            out.push_str(&format!("from {module}_pb2 import {class}\n\n"));
        }
        let value_conf = match strategy {
            Some(function) => {
                out.push_str(&format!(
                    "# {} names the subject after the event's record type: give the serializer that\n\
                     # type's schema, as registered (the serializer never registers one).\n\
                     schema_str = open(\"event.{}\").read()\n",
                    self.topic().value_subject_strategy.class_name(),
                    if kind == SchemaType::Json { "json" } else { "avsc" },
                ));
                format!("{{\"auto.register.schemas\": False, \"subject.name.strategy\": {function}}}")
            }
            None => {
                out.push_str("# The serializers write with each subject's latest schema and never register one.\n");
                python_conf(&self.topic().value_subject, &default_subject(topic, "value"))
            }
        };
        let value_schema = match (proto_class, strategy) {
            (Some(class), _) => class,
            (None, Some(_)) => "schema_str",
            (None, None) => "None",
        };
        out.push_str(&format!(
            "producer = SerializingProducer({{\n    \"bootstrap.servers\": {bootstrap},\n"
        ));
        if let Some(key) = key_kind {
            let key_conf = python_conf(&self.topic().key_subject, &default_subject(topic, "key"));
            out.push_str(&format!(
                "    \"key.serializer\": {},\n",
                python_serializer(key, "None", &key_conf)
            ));
        }
        out.push_str(&format!(
            "    \"value.serializer\": {},\n}})\n",
            python_serializer(kind, value_schema, &value_conf)
        ));
        match (kind, self.inputs.example) {
            (SchemaType::Json, Some(example)) => match serde_json::from_str::<Value>(example) {
                Ok(event) => out.push_str(&format!("event = {}\n", py_literal(&event, 0))),
                Err(_) => out.push_str("event = {}  # a dict of the value's fields\n"),
            },
            (SchemaType::Avro, _) => match avro_event {
                Some(example) => out.push_str(&format!(
                    "# The example, in Avro's JSON encoding, read into the values the serializer takes.\n\
                     schema = registry.get_latest_version({}).schema.schema_str\n\
                     event = next(json_reader(io.StringIO({}), parse_schema(json.loads(schema))))\n",
                    py_str(&self.topic().value_subject),
                    py_quoted(&compact(example)),
                )),
                None => out.push_str(
                    "# event: a dict of the value's fields (union members as plain values, not wrapped\n\
                     # as in Avro's JSON encoding).\n",
                ),
            },
            (SchemaType::Protobuf, example) => {
                let class = proto_class.unwrap_or("Event");
                match example {
                    Some(example) => out.push_str(&format!(
                        "# The example, in proto3's JSON mapping.\nevent = json_format.Parse({}, {class}())\n",
                        py_quoted(&compact(example))
                    )),
                    None => out.push_str(&format!("event = {class}()  # set the value's fields\n")),
                }
            }
            _ => out.push_str("# event: a dict of the value's fields.\n"),
        }
        out.push_str(&format!(
            "producer.produce({}, value=event, on_delivery=report)\nproducer.flush()\n\n",
            py_str(topic)
        ));
        out.push_str(&python_consumer(&bootstrap, &group, topic));
        out.push_str(&format!(
            "value_deserializer = {}\n\
             msg = consumer.poll(10.0)\n\
             if msg is not None and msg.error() is None:\n    \
             print(value_deserializer(msg.value(), SerializationContext(msg.topic(), MessageField.VALUE)))\n\
             consumer.close()\n",
            match proto_class {
                Some(class) => format!("ProtobufDeserializer({class}, {{\"use.deprecated.format\": False}})"),
                None => python_deserializer(kind),
            }
        ));
        out
    }

    fn java(&self) -> String {
        let topic = &self.topic().name;
        let value_kind = self.value_type();
        let (value_serializer, value_deserializer, value_class) = java_classes(value_kind);
        let (key_serializer, key_deserializer, key_class) = java_classes(self.inputs.key);
        let bootstrap = java_str(self.bootstrap);
        let registry = java_str(self.registry);
        let uses_registry = value_kind.is_some() || self.inputs.key.is_some();
        let mut out = String::from(
            "import java.util.Properties;\n\
             import org.apache.kafka.clients.consumer.KafkaConsumer;\n\
             import org.apache.kafka.clients.producer.KafkaProducer;\n\
             import org.apache.kafka.clients.producer.ProducerRecord;\n\n\
             Properties producerProps = new Properties();\n",
        );
        out.push_str(&format!("producerProps.put(\"bootstrap.servers\", {bootstrap});\n"));
        out.push_str("producerProps.put(\"acks\", \"all\");\n");
        out.push_str(&format!(
            "producerProps.put(\"key.serializer\", \"{key_serializer}\");\n"
        ));
        out.push_str(&format!(
            "producerProps.put(\"value.serializer\", \"{value_serializer}\");\n"
        ));
        if uses_registry {
            out.push_str(&format!("producerProps.put(\"schema.registry.url\", {registry});\n"));
            out.push_str("// Write with each subject's latest schema; never register one from a producer.\n");
            out.push_str("producerProps.put(\"auto.register.schemas\", \"false\");\n");
            match self.topic().value_subject_strategy {
                SubjectStrategy::Topic => {
                    out.push_str("producerProps.put(\"use.latest.version\", \"true\");\n");
                    for (part, subject) in [("key", &self.topic().key_subject), ("value", &self.topic().value_subject)] {
                        if *subject != default_subject(topic, part) {
                            out.push_str(&format!(
                                "// The {part} subject is {subject}, not {}: set {part}.subject.name.strategy\n\
                                 // to a SubjectNameStrategy that names it.\n",
                                default_subject(topic, part)
                            ));
                        }
                    }
                }
                strategy => out.push_str(&format!(
                    "producerProps.put(\"value.subject.name.strategy\", \"io.confluent.kafka.serializers.subject.{}\");\n",
                    strategy.class_name()
                )),
            }
        }
        let event = match value_kind {
            Some(SchemaType::Avro) => "event is a GenericRecord of the value schema",
            Some(SchemaType::Json) => "event is an object the JSON Schema describes",
            Some(SchemaType::Protobuf) => "event is a Protobuf message",
            None => "event is a String",
        };
        out.push_str(&format!(
            "try (KafkaProducer<{key_class}, {value_class}> producer = new KafkaProducer<>(producerProps)) {{\n    \
             producer.send(new ProducerRecord<>({t}, event)).get();  // {event}\n}}\n\n",
            t = java_str(topic),
        ));
        out.push_str("Properties consumerProps = new Properties();\n");
        out.push_str(&format!("consumerProps.put(\"bootstrap.servers\", {bootstrap});\n"));
        out.push_str(&format!(
            "consumerProps.put(\"group.id\", {});\n",
            java_str(&format!("{topic}-reader"))
        ));
        out.push_str("consumerProps.put(\"auto.offset.reset\", \"earliest\");\n");
        out.push_str(&format!(
            "consumerProps.put(\"key.deserializer\", \"{key_deserializer}\");\n"
        ));
        out.push_str(&format!(
            "consumerProps.put(\"value.deserializer\", \"{value_deserializer}\");\n"
        ));
        if uses_registry {
            out.push_str(&format!("consumerProps.put(\"schema.registry.url\", {registry});\n"));
        }
        out.push_str(&format!(
            "KafkaConsumer<{key_class}, {value_class}> consumer = new KafkaConsumer<>(consumerProps);\n\
             consumer.subscribe(java.util.List.of({}));\n",
            java_str(topic)
        ));
        out
    }

    fn kcat(&self) -> String {
        let broker = sh_word(self.bootstrap);
        let topic = sh_word(&self.topic().name);
        format!(
            "# Every record from the start, then exit: partition, offset, key and value per line.\n\
             kcat -b {broker} -t {topic} -C -o beginning -e -f '%p %o %k %s\\n'\n\
             # Produce one record per line of input.\n\
             kcat -b {broker} -t {topic} -P\n"
        )
    }

    /// Why plain bytes from kcat are refused here, and how values read.
    fn kcat_note(&self) -> Option<String> {
        if accepts_unframed(self.topic(), self.inputs.value) {
            return None;
        }
        let schema = match self.inputs.value {
            Some((kind, _)) => format!("{} value schema", kind.as_str()),
            None => format!("{} subjects", self.topic().value_subject_strategy.class_name()),
        };
        let validation = match self.topic().validation {
            Validation::Off => "off",
            Validation::Id => "id",
            Validation::Full => "full",
        };
        Some(format!(
            "kcat sends bytes as typed, without the schema id framing this topic needs \
             (validation {validation}, {schema}): its records are refused with INVALID_RECORD. \
             Produce with a serializer (Python, Java) or over HTTP. Values read back in the \
             framing: a zero byte and the schema id, then the encoded event."
        ))
    }
}

/// Prints every record a producer could not deliver, with the reason (a record the gate
/// refuses comes back as INVALID_RECORD, naming the field).
const REPORT: &str = "def report(err, msg):\n    \
    # A refused record is reported as INVALID_RECORD, with the field and the reason.\n    \
    if err is not None:\n        print(\"not produced:\", err)\n";

fn python_consumer(bootstrap: &str, group: &str, topic: &str) -> String {
    format!(
        "consumer = Consumer({{\n    \"bootstrap.servers\": {bootstrap},\n    \"group.id\": {group},\n    \
         \"auto.offset.reset\": \"earliest\",\n}})\nconsumer.subscribe([{}])\n",
        py_str(topic)
    )
}

/// `(module, serializer, deserializer)` of confluent-kafka's classes for a schema type.
fn python_classes(kind: SchemaType) -> (&'static str, &'static str, &'static str) {
    match kind {
        SchemaType::Avro => (
            "confluent_kafka.schema_registry.avro",
            "AvroSerializer",
            "AvroDeserializer",
        ),
        SchemaType::Json => (
            "confluent_kafka.schema_registry.json_schema",
            "JSONSerializer",
            "JSONDeserializer",
        ),
        SchemaType::Protobuf => (
            "confluent_kafka.schema_registry.protobuf",
            "ProtobufSerializer",
            "ProtobufDeserializer",
        ),
    }
}

/// A serializer expression. The JSON and Protobuf serializers take the schema first.
fn python_serializer(kind: SchemaType, schema: &str, conf: &str) -> String {
    let (_, class, _) = python_classes(kind);
    match kind {
        SchemaType::Avro => format!("{class}(registry, {schema}, conf={conf})"),
        _ => format!("{class}({schema}, registry, conf={conf})"),
    }
}

fn python_deserializer(kind: SchemaType) -> String {
    let (_, _, class) = python_classes(kind);
    match kind {
        SchemaType::Avro => format!("{class}(registry)"),
        _ => format!("{class}(None, schema_registry_client=registry)"),
    }
}

/// The serializer settings under TopicNameStrategy: the latest version of the subject, and
/// a strategy naming the subject when the topic's is not `<topic>-<part>`.
fn python_conf(subject: &str, default: &str) -> String {
    if subject == default {
        "{\"auto.register.schemas\": False, \"use.latest.version\": True}".to_string()
    } else {
        format!(
            "{{\"auto.register.schemas\": False, \"use.latest.version\": True, \
             \"subject.name.strategy\": lambda ctx, name: {}}}",
            py_str(subject)
        )
    }
}

fn python_strategy(strategy: SubjectStrategy) -> Option<&'static str> {
    match strategy {
        SubjectStrategy::Topic => None,
        SubjectStrategy::Record => Some("record_subject_name_strategy"),
        SubjectStrategy::TopicRecord => Some("topic_record_subject_name_strategy"),
    }
}

/// A value for a topic without a schema: the example's JSON as bytes, or a small one.
fn python_bytes(example: Option<&str>) -> String {
    let compact = example
        .and_then(|e| serde_json::from_str::<Value>(e).ok())
        .map(|v| v.to_string())
        .unwrap_or_else(|| "{\"id\": 1}".to_string());
    format!("{}.encode()", py_quoted(&compact))
}

/// `(serializer, deserializer, Java type)` for a part with that schema type, or without one.
fn java_classes(kind: Option<SchemaType>) -> (&'static str, &'static str, &'static str) {
    match kind {
        Some(SchemaType::Avro) => (
            "io.confluent.kafka.serializers.KafkaAvroSerializer",
            "io.confluent.kafka.serializers.KafkaAvroDeserializer",
            "Object",
        ),
        Some(SchemaType::Json) => (
            "io.confluent.kafka.serializers.json.KafkaJsonSchemaSerializer",
            "io.confluent.kafka.serializers.json.KafkaJsonSchemaDeserializer",
            "Object",
        ),
        Some(SchemaType::Protobuf) => (
            "io.confluent.kafka.serializers.protobuf.KafkaProtobufSerializer",
            "io.confluent.kafka.serializers.protobuf.KafkaProtobufDeserializer",
            "Object",
        ),
        None => (
            "org.apache.kafka.common.serialization.StringSerializer",
            "org.apache.kafka.common.serialization.StringDeserializer",
            "String",
        ),
    }
}

/// The HTTP way: a produce in the format the topic's value needs, and a partition read.
fn http(inputs: &ClientInputs<'_>, public_url: &str) -> String {
    let topic = &inputs.topic.name;
    let event = inputs
        .example
        .and_then(|e| serde_json::from_str::<Value>(e).ok())
        .map(|v| v.to_string());
    let (content_type, body, note) = match (inputs.value, inputs.topic.value_subject_strategy) {
        (Some((SchemaType::Avro, id)), SubjectStrategy::Topic) => (
            "application/vnd.kafka.avro.v2+json",
            format!(
                "{{\"value_schema_id\": {id}, \"records\": [{{\"value\": {}}}]}}",
                event.as_deref().unwrap_or("{}")
            ),
            "# Produce: the value in Avro's JSON encoding, written with schema id",
        ),
        (Some((SchemaType::Protobuf, id)), SubjectStrategy::Topic) => (
            "application/vnd.kafka.protobuf.v2+json",
            format!(
                "{{\"value_schema_id\": {id}, \"records\": [{{\"value\": {}}}]}}",
                event.as_deref().unwrap_or("{}")
            ),
            "# Produce: the value in proto3's JSON mapping, encoded as the first message of schema id",
        ),
        (value, SubjectStrategy::Topic) => (
            "application/vnd.kafka.json.v2+json",
            format!(
                "{{\"records\": [{{\"value\": {}}}]}}",
                event.as_deref().unwrap_or("{\"id\": 1}")
            ),
            match value {
                Some(_) => "# Produce: the value as JSON, checked against the value's JSON Schema",
                None => "# Produce: the value as JSON",
            },
        ),
        (_, strategy) => (
            "application/vnd.kafka.binary.v2+json",
            "{\"records\": [{\"value\": \"BASE64 OF THE FRAMED EVENT\"}]}".to_string(),
            match strategy {
                SubjectStrategy::Record => {
                    "# Produce: framed bytes in base64, as RecordNameStrategy needs the schema id"
                }
                _ => "# Produce: framed bytes in base64, as TopicRecordNameStrategy needs the schema id",
            },
        ),
    };
    // Framed values (Avro, any value under a record strategy) read back losslessly as base64.
    let framed = matches!(inputs.value, Some((SchemaType::Avro | SchemaType::Protobuf, _)))
        || inputs.topic.value_subject_strategy != SubjectStrategy::Topic;
    let (read, format) = match framed {
        true => (
            "# Read partition 0 from offset 0; values in base64 (the schema id framing, then the body).",
            "&format=binary",
        ),
        false => ("# Read partition 0 from offset 0.", ""),
    };
    let note = match (inputs.value, inputs.topic.value_subject_strategy) {
        (Some((SchemaType::Avro | SchemaType::Protobuf, id)), SubjectStrategy::Topic) => format!("{note} {id}."),
        _ => format!("{note}."),
    };
    format!(
        "{note}\n# The answer comes once the record is on disk; a refused record gets a 422 naming the field.\n\
         curl -s -X POST -H 'Content-Type: {content_type}' \\\n  --data {} \\\n  {}\n\
         {read}\n\
         curl -s {}\n",
        sh_word(&body),
        sh_word(&format!("{public_url}/topics/{topic}")),
        sh_word(&format!(
            "{public_url}/topics/{topic}/partitions/0/records?offset=0{format}"
        )),
    )
}

/// JSON text on one line (as given when it does not parse).
fn compact(json: &str) -> String {
    serde_json::from_str::<Value>(json).map_or_else(|_| json.to_string(), |v| v.to_string())
}

/// A Python string literal.
/// A Python module name made from a topic name: `stock-adjusted` → `stock_adjusted`.
fn python_module(topic: &str) -> String {
    let mut name: String = topic
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "topic_");
    }
    name
}

fn py_str(text: &str) -> String {
    // JSON's string syntax is valid Python for every character serde_json writes.
    Value::from(text).to_string()
}

/// A Python string literal for text full of double quotes (JSON): single-quoted when
/// nothing in it needs escaping there, so it reads as the JSON it holds.
fn py_quoted(text: &str) -> String {
    if text.chars().any(|c| c == '\'' || c == '\\' || c.is_control()) {
        py_str(text)
    } else {
        format!("'{text}'")
    }
}

/// A Java string literal.
fn java_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A shell word: as is when it holds nothing the shell reads, else single-quoted.
fn sh_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/@%+=,".contains(&b));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// A JSON value as a Python literal, indented by four spaces per level.
fn py_literal(value: &Value, depth: usize) -> String {
    let pad = "    ".repeat(depth + 1);
    let close = "    ".repeat(depth);
    match value {
        Value::Null => "None".to_string(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => py_str(s),
        Value::Array(items) if items.is_empty() => "[]".to_string(),
        Value::Array(items) => {
            let inner: Vec<String> = items
                .iter()
                .map(|item| format!("{pad}{},\n", py_literal(item, depth + 1)))
                .collect();
            format!("[\n{}{close}]", inner.concat())
        }
        Value::Object(members) if members.is_empty() => "{}".to_string(),
        Value::Object(members) => {
            let inner: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("{pad}{}: {},\n", py_str(k), py_literal(v, depth + 1)))
                .collect();
            format!("{{\n{}{close}}}", inner.concat())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(kafka: Option<&str>) -> Endpoints {
        Endpoints {
            public_url: "https://herald.example.com".to_string(),
            kafka_bootstrap: kafka.map(str::to_string),
        }
    }

    fn code<'a>(clients: &'a Clients, id: &str) -> &'a str {
        &clients.snippets.iter().find(|s| s.id == id).unwrap().code
    }

    #[test]
    fn without_a_listener_only_the_http_way_is_offered() {
        let topic = TopicConfig::new("orders", 3);
        let inputs = ClientInputs {
            topic: &topic,
            value: Some((SchemaType::Json, 4)),
            key: None,
            example: Some(r#"{"id": 1}"#),
            value_has_references: false,
            protobuf_message: None,
        };
        let clients = clients(&inputs, &endpoints(None));
        assert_eq!(clients.kafka_bootstrap, None);
        let ids: Vec<&str> = clients.snippets.iter().map(|s| s.id).collect();
        assert_eq!(ids, ["http"]);
        assert!(code(&clients, "http").contains(r#"--data '{"records": [{"value": {"id":1}}]}'"#));
    }

    #[test]
    fn a_topic_subject_under_another_name_is_named_to_the_serializers() {
        let mut topic = TopicConfig::new("orders-v2", 1);
        topic.value_subject = "orders-value".to_string();
        let inputs = ClientInputs {
            topic: &topic,
            value: Some((SchemaType::Avro, 7)),
            key: None,
            example: Some(r#"{"id": "o-1"}"#),
            value_has_references: false,
            protobuf_message: None,
        };
        let clients = clients(&inputs, &endpoints(Some("k:9092")));
        let python = code(&clients, "python");
        assert!(
            python.contains(r#""subject.name.strategy": lambda ctx, name: "orders-value""#),
            "{python}"
        );
        assert!(
            python.contains(r#"registry.get_latest_version("orders-value")"#),
            "{python}"
        );
        assert!(python.contains(r#"io.StringIO('{"id":"o-1"}')"#), "{python}");
        let java = code(&clients, "java");
        assert!(
            java.contains("// The value subject is orders-value, not orders-v2-value"),
            "{java}"
        );
        assert!(code(&clients, "http").contains(r#""value_schema_id": 7"#));
    }

    #[test]
    fn record_strategies_configure_the_serializers_and_need_framed_bytes() {
        let mut topic = TopicConfig::new("mixed", 1);
        topic.value_subject_strategy = SubjectStrategy::Record;
        let inputs = ClientInputs {
            topic: &topic,
            value: None,
            key: None,
            example: None,
            value_has_references: false,
            protobuf_message: None,
        };
        let clients = clients(&inputs, &endpoints(Some("k:9092")));
        let python = code(&clients, "python");
        assert!(
            python.contains("import SchemaRegistryClient, record_subject_name_strategy")
                && python.contains(r#""subject.name.strategy": record_subject_name_strategy"#)
                && python.contains("AvroSerializer(registry, schema_str,"),
            "{python}"
        );
        let java = code(&clients, "java");
        assert!(
            java.contains(
                r#"producerProps.put("value.subject.name.strategy", "io.confluent.kafka.serializers.subject.RecordNameStrategy");"#
            ) && !java.contains("use.latest.version"),
            "{java}"
        );
        let kcat = clients.snippets.iter().find(|s| s.id == "kcat").unwrap();
        assert!(
            kcat.note
                .as_deref()
                .is_some_and(|n| n.contains("RecordNameStrategy subjects")),
            "{:?}",
            kcat.note
        );
        assert!(code(&clients, "http").contains("application/vnd.kafka.binary.v2+json"));
    }

    #[test]
    fn an_ipv6_bootstrap_stays_one_shell_word_and_one_string() {
        let topic = TopicConfig::new("t", 1);
        let inputs = ClientInputs {
            topic: &topic,
            value: None,
            key: None,
            example: None,
            value_has_references: false,
            protobuf_message: None,
        };
        let clients = clients(&inputs, &endpoints(Some("[::1]:9092")));
        assert!(code(&clients, "kcat").contains("kcat -b '[::1]:9092' -t t -C"));
        assert!(code(&clients, "python").contains(r#"{"bootstrap.servers": "[::1]:9092"}"#));
    }

    #[test]
    fn strings_are_quoted_for_the_language_they_land_in() {
        assert_eq!(py_str("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(java_str("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(sh_word("127.0.0.1:9092"), "127.0.0.1:9092");
        assert_eq!(sh_word("it's here"), r"'it'\''s here'");
        assert_eq!(
            py_literal(&serde_json::json!({"a": [true, null, 1.5], "b": {}}), 0),
            "{\n    \"a\": [\n        True,\n        None,\n        1.5,\n    ],\n    \"b\": {},\n}"
        );
    }
}
