#!/usr/bin/env python3
"""Records the Kafka requests real clients send, as seeds for the kafka_request fuzz target.

    fuzz/capture_kafka_requests.py LISTEN_PORT HERALD_KAFKA_PORT OUT_DIR

Listens on 127.0.0.1:LISTEN_PORT and relays every connection to Herald's Kafka listener on
127.0.0.1:HERALD_KAFKA_PORT. Each request frame a client sends is written to OUT_DIR without
its 4-byte size (as the listener hands it to the decoder), named after its API key, version
and a digest of its bytes; at most three per (key, version) are kept (SASL's rounds differ in
their bytes, not their version), so driving several clients adds mostly new shapes.
Point a client at the listening port with the broker's advertised address rewritten, e.g.
kcat -b 127.0.0.1:LISTEN_PORT ..., while Herald runs with --kafka-advertised 127.0.0.1:LISTEN_PORT.
Stop it with Ctrl-C.
"""

import hashlib
import os
import socket
import struct
import sys
import threading


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def relay_requests(client, server, out_dir):
    while True:
        size = read_exact(client, 4)
        if size is None:
            break
        (length,) = struct.unpack(">i", size)
        frame = read_exact(client, length)
        if frame is None:
            break
        if len(frame) >= 4:
            key, version = struct.unpack(">hh", frame[:4])
            prefix = f"api{key}-v{version}-"
            digest = hashlib.sha256(frame).hexdigest()[:12]
            kept = [name for name in os.listdir(out_dir) if name.startswith(prefix)]
            if len(kept) < 3 and prefix + digest + ".bin" not in kept:
                with open(os.path.join(out_dir, prefix + digest + ".bin"), "wb") as f:
                    f.write(frame)
        server.sendall(size + frame)
    server.shutdown(socket.SHUT_WR)


def relay_responses(server, client):
    while True:
        data = server.recv(65536)
        if not data:
            break
        client.sendall(data)
    client.shutdown(socket.SHUT_WR)


def main():
    listen_port, herald_port, out_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    os.makedirs(out_dir, exist_ok=True)
    listener = socket.create_server(("127.0.0.1", listen_port))
    while True:
        client, _ = listener.accept()
        server = socket.create_connection(("127.0.0.1", herald_port))
        threading.Thread(target=relay_requests, args=(client, server, out_dir), daemon=True).start()
        threading.Thread(target=relay_responses, args=(server, client), daemon=True).start()


if __name__ == "__main__":
    main()
