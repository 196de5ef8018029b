package herald;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The official Java client against Herald's Kafka listener (run by tests/it/kafka_clients.rs).
 *
 * <p>Usage: {@code java -cp ... herald.KafkaCheck BOOTSTRAP GATED_SCHEMA_ID}. The Rust side has
 * created topic {@code java-gated} (validation {@code full}) and registered a JSON Schema under
 * {@code java-gated-value} whose id is {@code GATED_SCHEMA_ID}. Every step checks what an
 * application sees and exits non-zero naming the first failure; the lines printed are asserted
 * by the Rust test.
 */
public final class KafkaCheck {
  private static final String TOPIC = "java-orders";
  private static final int COUNT = 100;

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    int gatedId = Integer.parseInt(args[1]);
    Properties common = new Properties();
    secure(common);
    common.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    common.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");

    try (Admin admin = Admin.create(common)) {
      DescribeClusterResult cluster = admin.describeCluster();
      List<Node> nodes = new ArrayList<>(cluster.nodes().get());
      check(nodes.size() == 1, "one node, got " + nodes);
      System.out.println("cluster node " + nodes.get(0).host() + ":" + nodes.get(0).port());

      admin.createTopics(List.of(new NewTopic(TOPIC, 3, (short) 1), new NewTopic("java-scratch", 1, (short) 1)))
          .all()
          .get();
      Set<String> names = admin.listTopics().names().get();
      check(names.contains(TOPIC) && names.contains("java-scratch"), "topics listed: " + names);
      TopicDescription described = admin.describeTopics(List.of(TOPIC)).allTopicNames().get().get(TOPIC);
      check(described.partitions().size() == 3, "partitions: " + described.partitions());
      System.out.println("created " + TOPIC + " partitions " + described.partitions().size());

      Map<TopicPartition, List<Long>> offsets = produce(bootstrap);
      Map<TopicPartition, Long> ends = new HashMap<>();
      for (Map.Entry<TopicPartition, List<Long>> e : offsets.entrySet()) {
        List<Long> got = e.getValue();
        for (int i = 0; i < got.size(); i++) {
          check(got.get(i) == i, e.getKey() + " offsets not dense: " + got);
        }
        ends.put(e.getKey(), (long) got.size());
      }
      System.out.println("produced " + COUNT + " acks=all idempotent");

      int consumed = consume(bootstrap);
      System.out.println("consumed " + consumed + " in group java-group");

      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets("java-group").partitionsToOffsetAndMetadata().get();
      for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
        OffsetAndMetadata c = committed.get(e.getKey());
        check(c != null && c.offset() == e.getValue(), e.getKey() + " committed " + c + ", end " + e.getValue());
        check("java-check".equals(c.metadata()), "commit metadata round-trips: " + c);
      }
      System.out.println("committed offsets match the ends");

      gate(bootstrap, gatedId);

      admin.deleteTopics(List.of("java-scratch")).all().get();
      names = admin.listTopics().names().get();
      check(!names.contains("java-scratch") && names.contains(TOPIC), "after delete: " + names);
      System.out.println("deleted java-scratch");
    }
    System.out.println("ok: java");
  }

  /** Sends COUNT records (acks=all, idempotent) and returns the acknowledged offsets. */
  private static Map<TopicPartition, List<Long>> produce(String bootstrap) throws Exception {
    Properties props = new Properties();
    secure(props);
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "zstd");
    props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    Map<TopicPartition, List<Long>> offsets = new TreeMap<>((a, b) -> Integer.compare(a.partition(), b.partition()));
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (int i = 0; i < COUNT; i++) {
        sent.add(producer.send(new ProducerRecord<>(TOPIC, "k" + (i % 10), "java-" + i)));
      }
      for (Future<RecordMetadata> f : sent) {
        RecordMetadata m = f.get();
        offsets.computeIfAbsent(new TopicPartition(m.topic(), m.partition()), k -> new ArrayList<>()).add(m.offset());
      }
    }
    return offsets;
  }

  /** Reads every record of TOPIC as member of java-group, committing with metadata. */
  private static int consume(String bootstrap) {
    Properties props = new Properties();
    secure(props);
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, "java-group");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    Map<String, Integer> seen = new HashMap<>();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      consumer.subscribe(List.of(TOPIC));
      while (seen.size() < COUNT) {
        check(System.nanoTime() < deadline, "only " + seen.size() + " records in 60 s");
        Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
          Integer before = seen.put(r.value(), 1);
          check(before == null, "consumed twice: " + r.value());
          commit.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1, "java-check"));
        }
        if (!commit.isEmpty()) {
          consumer.commitSync(commit);
        }
      }
    }
    for (int i = 0; i < COUNT; i++) {
      check(seen.containsKey("java-" + i), "never consumed: java-" + i);
    }
    return seen.size();
  }

  /** A framed JSON value that breaks its schema is refused, naming the field; a valid one lands. */
  private static void gate(String bootstrap, int schemaId) throws Exception {
    Properties props = new Properties();
    secure(props);
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
    props.put(ProducerConfig.RETRIES_CONFIG, "0");
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      try {
        producer.send(new ProducerRecord<>("java-gated", 0, null, framed(schemaId, "{\"id\": 7}"))).get();
        check(false, "an invalid record was acknowledged");
      } catch (ExecutionException e) {
        check(e.getCause() instanceof InvalidRecordException, "refused with " + e.getCause());
        System.out.println("refused INVALID_RECORD: " + e.getCause().getMessage());
      }
      RecordMetadata ok = producer.send(new ProducerRecord<>("java-gated", 0, null, framed(schemaId, "{\"id\": \"j-1\"}"))).get();
      check(ok.offset() == 0, "the valid record after the refused one is at offset " + ok.offset());
      System.out.println("accepted valid record at offset " + ok.offset());
    }
  }

  private static byte[] framed(int schemaId, String json) {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(5 + body.length).put((byte) 0).putInt(schemaId).put(body).array();
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      System.out.println("FAILED: " + what);
      System.exit(1);
    }
  }

  /**
   * SASL credentials from HERALD_KAFKA_SASL ("user:password"), when set, with the mechanism
   * in HERALD_KAFKA_SASL_MECHANISM (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; PLAIN by default):
   * the same checks against a server whose Kafka listener requires authentication.
   */
  static void secure(Properties props) {
    String sasl = System.getenv("HERALD_KAFKA_SASL");
    if (sasl == null || sasl.isEmpty()) {
      return;
    }
    int colon = sasl.indexOf(':');
    String user = sasl.substring(0, colon);
    String password = sasl.substring(colon + 1);
    String mechanism = System.getenv().getOrDefault("HERALD_KAFKA_SASL_MECHANISM", "PLAIN");
    String module =
        mechanism.startsWith("SCRAM")
            ? "org.apache.kafka.common.security.scram.ScramLoginModule"
            : "org.apache.kafka.common.security.plain.PlainLoginModule";
    props.put("security.protocol", "SASL_PLAINTEXT");
    props.put("sasl.mechanism", mechanism);
    props.put(
        "sasl.jaas.config",
        module
            + " required username=\""
            + user
            + "\" password=\""
            + password
            + "\";");
  }
}
