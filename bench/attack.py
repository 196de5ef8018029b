#!/usr/bin/env python3
"""Bounded attacks on a local `herald serve`, reporting /health latency and server memory.

Starts `herald serve` on a free loopback port (under `prlimit --nofile=N` when asked, to
reproduce a small descriptor limit), runs each attack for a bounded number of connections
and seconds while a monitor probes /health on fresh connections every 100 ms and samples
VmRSS from /proc, prints one line per attack, and stops the server. Python's standard
library only; every socket goes to 127.0.0.1.

    bench/attack.py                                  # target/debug/herald, default limits
    bench/attack.py --herald target/release/herald --nofile 1024
    bench/attack.py --only slow-heads,idle

Each line: attack, what the attackers were told, /health probes (answered/sent), their
median and worst latency, and the server's RSS before, at its highest, and after.
Exit status 1 when a /health probe failed or took a second or more.
"""

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
PROBE_EVERY = 0.1
PROBE_LIMIT = 1.0


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def exchange(port, data, timeout=5.0):
    """Sends `data` on a fresh connection and reads until the server closes; the status."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            chunks.append(chunk)
    head = b"".join(chunks)[:64].decode("latin-1")
    m = re.match(r"HTTP/1\.1 (\d+)", head)
    return int(m.group(1)) if m else 0


def request(method, path, body=b"", content_type="application/json", extra=""):
    return (
        f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


class Monitor(threading.Thread):
    """Probes /health and samples RSS until stopped."""

    def __init__(self, port, pid):
        super().__init__(daemon=True)
        self.port, self.pid = port, pid
        self.latencies, self.failures, self.peak = [], 0, rss_kib(pid)
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            started = time.monotonic()
            try:
                status = exchange(self.port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", PROBE_LIMIT * 3)
            except OSError:
                status = 0
            took = time.monotonic() - started
            if status == 200:
                self.latencies.append(took)
            else:
                self.failures += 1
            self.peak = max(self.peak, rss_kib(self.pid))
            self.done.wait(PROBE_EVERY)

    def stop(self):
        self.done.set()
        self.join()


# ----------------------------------------------------------------------------------------
# Attacks: each takes the port and a deadline, holds at most `count` sockets, and returns a
# short description of what the attackers saw.


def open_many(port, count, deadline, first_bytes):
    sockets = []
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        try:
            s = socket.create_connection((HOST, port), timeout=2)
            if first_bytes:
                s.sendall(first_bytes)
            sockets.append(s)
        except OSError:
            break
    return sockets


def closed_count(sockets):
    closed = 0
    for s in sockets:
        s.setblocking(False)
        try:
            while True:
                if not s.recv(65536):
                    closed += 1
                    break
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    return closed


def hold(sockets, deadline, wait):
    end = min(deadline, time.monotonic() + wait)
    while time.monotonic() < end:
        time.sleep(0.1)
    closed = closed_count(sockets)
    for s in sockets:
        s.close()
    return closed


def slow_heads(port, deadline, args):
    sockets = open_many(port, args.connections, deadline, b"GET /health HTTP/1.1\r\nHost: x\r\n")
    closed = hold(sockets, deadline, args.timeout + 2)
    return f"{len(sockets)} partial heads, {closed} closed by the server"


def idle(port, deadline, args):
    sockets = open_many(port, args.connections, deadline, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    closed = hold(sockets, deadline, args.timeout + 2)
    return f"{len(sockets)} idle keep-alive connections, {closed} closed by the server"


def slow_bodies(port, deadline, args):
    head = request("POST", "/subjects/attack-value/versions", extra="")
    head = head.replace(b"Content-Length: 0", b"Content-Length: 1000000")
    sockets = open_many(port, min(args.connections, 500), deadline, head + b'{"schema": "')
    end = min(deadline, time.monotonic() + args.timeout + 2)
    while time.monotonic() < end:
        for s in sockets:
            try:
                s.send(b" ")
            except OSError:
                pass
        time.sleep(0.5)
    closed = closed_count(sockets)
    for s in sockets:
        s.close()
    return f"{len(sockets)} bodies trickling a byte per 0.5 s, {closed} cut off"


def oversized(port, deadline, args):
    body = b'{"records": [{"value": "' + b"x" * (16 * 1024 * 1024) + b'"}]}'
    statuses = {}
    for _ in range(10):
        if time.monotonic() > deadline:
            break
        try:
            status = exchange(port, request("POST", "/topics/attack", body, "application/vnd.kafka.json.v2+json"))
        except OSError:
            status = "reset"
        statuses[status] = statuses.get(status, 0) + 1
    return f"16 MiB produce bodies answered {statuses}"


def metrics_size(port):
    with socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return len(data)


def random_methods(port, deadline, args):
    rng = random.Random(13)
    sizes = [metrics_size(port)]
    sent = 0
    for _ in range(2):
        for _ in range(1000):
            if time.monotonic() > deadline:
                break
            method = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.randint(3, 12)))
            path = "/" + "".join(rng.choice("abcdefghij") for _ in range(8))
            try:
                exchange(port, f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            except OSError:
                pass
            sent += 1
        sizes.append(metrics_size(port))
    return f"{sent} random methods and paths, /metrics " + " → ".join(map(str, sizes)) + " bytes"


def forms(port, deadline, args):
    statuses = {}
    for content_type in ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"]:
        for _ in range(20):
            status = exchange(port, request("POST", "/subjects/csrf-value/versions", b'{"schema":"\\"int\\""}', content_type))
            statuses[status] = statuses.get(status, 0) + 1
    return f"cross-site-style posts answered {statuses}"


ATTACKS = {
    "slow-heads": slow_heads,
    "idle": idle,
    "slow-bodies": slow_bodies,
    "oversized": oversized,
    "random-methods": random_methods,
    "forms": forms,
}


def start_server(args):
    data_dir = tempfile.mkdtemp(prefix="herald-attack-")
    command = [
        args.herald, "serve", "--listen", f"{HOST}:0", "--data-dir", data_dir,
        "--header-read-timeout", f"{args.timeout}s", "--idle-timeout", f"{args.timeout}s",
        "--body-read-timeout", f"{args.timeout}s",
    ]
    if args.nofile:
        if not shutil.which("prlimit"):
            sys.exit("--nofile needs prlimit (util-linux)")
        command = ["prlimit", f"--nofile={args.nofile}:{args.nofile}", "--"] + command
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    for line in server.stderr:
        m = re.search(r"listening on http://[\d.]+:(\d+)", line)
        if m:
            threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
            return server, int(m.group(1)), data_dir
        if time.monotonic() > deadline:
            break
    server.kill()
    sys.exit("herald serve did not report its address")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--herald", default="target/debug/herald")
    parser.add_argument("--nofile", type=int, default=0, help="descriptor limit for the server (prlimit)")
    parser.add_argument("--connections", type=int, default=2000, help="sockets per attack (at most 5000)")
    parser.add_argument("--timeout", type=int, default=3, help="the server's header/idle/body timeouts, seconds")
    parser.add_argument("--seconds", type=float, default=15, help="time bound per attack (at most 60)")
    parser.add_argument("--only", default=",".join(ATTACKS), help="comma-separated attacks")
    args = parser.parse_args()
    args.connections = max(1, min(args.connections, 5000))
    args.seconds = max(1.0, min(args.seconds, 60.0))
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    server, port, data_dir = start_server(args)
    failed = False
    try:
        print(f"herald pid {server.pid} on {HOST}:{port}; timeouts {args.timeout}s; nofile {args.nofile or 'inherited'}")
        print(f"{'attack':<15} {'probes':>9} {'p50 ms':>8} {'max ms':>8} {'RSS MiB before/peak/after':>27}  attackers saw")
        for name in args.only.split(","):
            attack = ATTACKS[name.strip()]
            before = rss_kib(server.pid)
            monitor = Monitor(port, server.pid)
            monitor.start()
            outcome = attack(port, time.monotonic() + args.seconds, args)
            monitor.stop()
            after = rss_kib(server.pid)
            lat = sorted(monitor.latencies) or [float("nan")]
            probes = f"{len(monitor.latencies)}/{len(monitor.latencies) + monitor.failures}"
            print(
                f"{name:<15} {probes:>9} {lat[len(lat) // 2] * 1000:>8.1f} {lat[-1] * 1000:>8.1f} "
                f"{before / 1024:>9.1f}/{monitor.peak / 1024:>6.1f}/{after / 1024:>6.1f}   {outcome}"
            )
            if monitor.failures or lat[-1] >= PROBE_LIMIT:
                failed = True
            if server.poll() is not None:
                print(f"the server exited with {server.returncode}")
                failed = True
                break
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(data_dir, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
