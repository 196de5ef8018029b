"""End-to-end latency of the broker: a producer sends records of 1 KiB at a fixed rate
(batches every 20 ms, acknowledged after fdatasync) while a consumer-group member polls for
them; each record carries its send time, and the consumer measures the time until it sees it.

Usage: python bench/e2e-latency.py http://127.0.0.1:18092 [records-per-second] [seconds]
Needs the `requests` package (tests/python/requirements.txt has it).
"""

import json
import sys
import threading
import time

import requests

URL = sys.argv[1]
RATE = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 10
TOPIC = "latency"
PAD = "x" * 990
PER_BATCH = max(1, RATE // 50)  # one batch every 20 ms

produce = requests.Session()
produce.headers["Content-Type"] = "application/vnd.kafka.json.v2+json"
consume = requests.Session()
consume.headers["Content-Type"] = "application/json"

produce.post(f"{URL}/topics", json={"name": TOPIC, "partitions": 1}, headers={"Content-Type": "application/json"})
base = f"{URL}/consumers/latency-bench/instances/reader"
consume.post(f"{URL}/consumers/latency-bench", json={"name": "reader", "auto.offset.reset": "latest"})
consume.post(f"{base}/subscription", json={"topics": [TOPIC]})
consume.get(f"{base}/records")  # join and take the current end as the start

latencies = []
sent = 0
stop = threading.Event()


def reader():
    while not stop.is_set() or len(latencies) < sent:
        records = consume.get(f"{base}/records").json()
        now = time.time()
        for record in records:
            latencies.append(now - record["value"]["t"])
        if stop.is_set() and not records:
            break


thread = threading.Thread(target=reader)
thread.start()
started = time.time()
next_batch = started
while time.time() - started < SECONDS:
    now = time.time()
    body = {"records": [{"value": {"t": now, "pad": PAD}} for _ in range(PER_BATCH)]}
    reply = produce.post(f"{URL}/topics/{TOPIC}", data=json.dumps(body))
    reply.raise_for_status()
    sent += PER_BATCH
    next_batch += 0.02
    time.sleep(max(0.0, next_batch - time.time()))
elapsed = time.time() - started
time.sleep(0.5)
stop.set()
thread.join(timeout=10)
consume.delete(base)

latencies.sort()


def pct(p):
    return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000


print(
    f"{sent / elapsed:.0f} records/s produced, {len(latencies)} consumed; "
    f"latency p50 {pct(0.50):.1f} ms, p99 {pct(0.99):.1f} ms, max {latencies[-1] * 1000:.1f} ms"
)
