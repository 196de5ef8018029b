"""Captures the record batches librdkafka really sends, as test fixtures for the broker's
decoders: a fake one-node broker answers ApiVersions (v0), Metadata (v1), FindCoordinator
and InitProducerId, and keeps each Produce (v7) request's record set. Advertising Fetch v10
and Produce v7 is what makes librdkafka use record batches v2 with lz4 and zstd.

Run with the CI's Python venv (confluent-kafka):
    python capture_librdkafka.py src/broker/testdata
It writes librdkafka-{gzip,snappy,lz4,zstd}.bin: three records each (key-i, a JSON value,
header h=v<i>, timestamps 1700000000000 + 10*i); the zstd one from an idempotent producer
(id 4242, epoch 3, sequence 0, as the fake broker hands out)."""
import socket, struct, sys, threading, time

from confluent_kafka import Producer

captured = {}

def string(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b

def serve(listener, port):
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn, port), daemon=True).start()

def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf

def handle(conn, port):
    try:
        while True:
            size, = struct.unpack(">i", read_exact(conn, 4))
            req = read_exact(conn, size)
            key, version, corr = struct.unpack(">hhi", req[:8])
            client_len, = struct.unpack(">h", req[8:10])
            body = req[10 + max(client_len, 0):]
            if key == 18:  # ApiVersions
                if version != 0:
                    resp = struct.pack(">ih", corr, 35) + struct.pack(">i", 0)
                else:
                    apis = [(0, 7, 7), (1, 10, 10), (3, 1, 1), (10, 0, 0), (18, 0, 0), (22, 0, 1)]
                    resp = struct.pack(">ihi", corr, 0, len(apis)) + b"".join(struct.pack(">hhh", *a) for a in apis)
            elif key == 3:  # Metadata v1
                resp = struct.pack(">i", corr)
                resp += struct.pack(">i", 1) + struct.pack(">i", 1) + string("127.0.0.1") + struct.pack(">i", port) + struct.pack(">h", -1)
                resp += struct.pack(">i", 1)  # controller
                resp += struct.pack(">i", 1) + struct.pack(">h", 0) + string("t") + b"\x00"
                resp += struct.pack(">i", 1) + struct.pack(">hii", 0, 0, 1) + struct.pack(">ii", 1, 1) + struct.pack(">ii", 1, 1)
            elif key == 0:  # Produce v3
                pos = 0
                tid, = struct.unpack(">h", body[pos:pos + 2]); pos += 2 + max(tid, 0)
                pos += 2 + 4  # acks, timeout
                topics, = struct.unpack(">i", body[pos:pos + 4]); pos += 4
                for _ in range(topics):
                    n, = struct.unpack(">h", body[pos:pos + 2]); pos += 2 + n
                    parts, = struct.unpack(">i", body[pos:pos + 4]); pos += 4
                    for _ in range(parts):
                        pos += 4
                        n, = struct.unpack(">i", body[pos:pos + 4]); pos += 4
                        captured.setdefault("sets", []).append(body[pos:pos + n]); pos += n
                resp = struct.pack(">i", corr) + struct.pack(">i", 1) + string("t") + struct.pack(">i", 1)
                resp += struct.pack(">ihqqq", 0, 0, 0, -1, 0) + struct.pack(">i", 0)
            elif key == 22:  # InitProducerId
                resp = struct.pack(">iihqh", corr, 0, 0, 4242, 3)
            else:
                print("unexpected api", key, version, file=sys.stderr)
                return
            conn.sendall(struct.pack(">i", len(resp)) + resp)
    except EOFError:
        pass

def main():
    out_dir = sys.argv[1]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    threading.Thread(target=serve, args=(listener, port), daemon=True).start()
    for codec, idempotent in [("gzip", False), ("snappy", False), ("lz4", False), ("zstd", True)]:
        captured.clear()
        p = Producer({
            "bootstrap.servers": f"127.0.0.1:{port}",
            "compression.type": codec,
            "linger.ms": 200,
            "acks": "all" if idempotent else 1,
            "enable.idempotence": idempotent,
        })
        for i in range(3):
            p.produce("t", key=f"key-{i}".encode(), value=(f'{{"codec":"{codec}","i":{i},"pad":"' + "z" * 100 + '"}').encode(),
                      headers=[("h", f"v{i}".encode())], timestamp=1_700_000_000_000 + i * 10)
        left = p.flush(10)
        sets = captured.get("sets", [])
        print(codec, "left", left, "sets", [len(s) for s in sets])
        with open(f"{out_dir}/librdkafka-{codec}.bin", "wb") as f:
            f.write(b"".join(sets))

main()
