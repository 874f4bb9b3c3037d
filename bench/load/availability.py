#!/usr/bin/env python3
"""Availability of `cinefactor serve` under hostile clients (a benchmark, not a test; the test is
tests/test_serve_availability.cpp). Starts the server on a free loopback port and measures:

  1. 100 new visitors (GET / and POST /api/v1/recommendations in turn, each on a new connection)
     while 200 idle keep-alive connections are open;
  2. the same while 64 clients each trickle a byte of a request head per second;
  3. the server's resident memory while 8 clients each send a request with 1,000,000 header fields;
  4. how long SIGTERM takes with one request whose body never finishes.

  [PROBES=100] bench/load/availability.py CINEFACTOR MODEL_FILE [extra serve flags...]
"""
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

PROBES = int(os.environ.get("PROBES", "100"))
TIMEOUT = 5.0


def start(binary, model, extra):
    proc = subprocess.Popen([binary, "serve", "--model", model, "--port", "0", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    while True:
        line = proc.stdout.readline()
        if not line:
            sys.exit("the server did not start")
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if m:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            return proc, int(m.group(1))


def request(port, raw, timeout=TIMEOUT):
    """Sends `raw` on a new connection; the status of the answer, or None."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                return None
            body += chunk
        return int(head[9:12])


def probes(port, body):
    get = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    post = (b"POST /api/v1/recommendations HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    times, failed = [], 0
    for i in range(PROBES):
        start_t = time.monotonic()
        try:
            status = request(port, post if i % 2 else get)
        except OSError:
            status = None
        times.append(time.monotonic() - start_t)
        failed += status != 200
    times.sort()
    return (f"p50 {statistics.median(times) * 1e3:.1f} ms, p99 {times[PROBES * 99 // 100 - 1] * 1e3:.1f} ms, "
            f"max {times[-1] * 1e3:.1f} ms, {failed} of {PROBES} failed or timed out ({TIMEOUT:.0f} s)")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(l for l in f if l.startswith("VmRSS:")).split()[1])


def popular_ids(port):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /api/v1/movies/popular?n=10&seed=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return [m["id"] for m in json.loads(data.partition(b"\r\n\r\n")[2])["movies"]]


def main():
    binary, model, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
    print("load average:", open("/proc/loadavg").read().split()[:3])
    proc, port = start(binary, model, extra)
    ids = popular_ids(port)
    body = json.dumps({"ratings": [{"movie_id": m, "rating": 4.5} for m in ids]}).encode()
    print("no other clients:", probes(port, body))

    idle = []
    for _ in range(200):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        idle.append(s)
    print("200 idle keep-alive connections:", probes(port, body))
    for s in idle:
        s.close()

    stop = threading.Event()
    slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]
    head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 500

    def trickle():
        for b in range(len(head)):
            for s in slow:
                try:
                    s.send(head[b:b + 1])
                except OSError:
                    pass
            if stop.wait(1.0):
                return
    t = threading.Thread(target=trickle)
    t.start()
    time.sleep(1.5)
    print("64 clients trickling a byte a second:", probes(port, body))
    stop.set()
    t.join()
    for s in slow:
        s.close()

    before = rss_kib(proc.pid)
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(proc.pid))
            time.sleep(0.005)

    statuses = []

    def flood():
        status = None
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            try:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
                for i in range(0, 1_000_000, 1000):
                    s.sendall(b"".join(b"x%d: v\r\n" % j for j in range(i, i + 1000)))
                s.sendall(b"\r\n")
            except OSError:
                pass  # the server answered and closed before the head was complete
            try:
                status = int(s.recv(64)[9:12])
            except (OSError, ValueError) as e:
                status = type(e).__name__
        statuses.append(status)
    sampler = threading.Thread(target=sample)
    sampler.start()
    floods = [threading.Thread(target=flood) for _ in range(8)]
    start_t = time.monotonic()
    for f in floods:
        f.start()
    for f in floods:
        f.join()
    done.set()
    sampler.join()
    print(f"8 x 1,000,000 header fields: answers {statuses} in {time.monotonic() - start_t:.1f} s; "
          f"RSS {before / 1024:.1f} MiB before, {peak[0] / 1024:.1f} MiB at peak, "
          f"{rss_kib(proc.pid) / 1024:.1f} MiB after")

    never = socket.create_connection(("127.0.0.1", port))
    never.sendall(b"POST /api/v1/recommendations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000\r\n\r\n{")
    stop.clear()

    def drip():
        while not stop.wait(0.2):
            try:
                never.send(b" ")
            except OSError:
                return
    d = threading.Thread(target=drip)
    d.start()
    time.sleep(0.5)
    start_t = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=30)
        print(f"SIGTERM with a request body that never finishes: exit {code} after "
              f"{time.monotonic() - start_t:.2f} s")
    except subprocess.TimeoutExpired:
        print("SIGTERM with a request body that never finishes: still running after 30 s (killed)")
        proc.kill()
    stop.set()
    d.join()
    print("load average:", open("/proc/loadavg").read().split()[:3])


if __name__ == "__main__":
    main()
