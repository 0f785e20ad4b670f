#!/usr/bin/env python3
"""Hedging benchmark: p99 with and without hedged requests, against an upstream with a long tail.

Three upstream endpoints (real HTTP/1.1 servers, one process each, started by this script); one of
them adds 200 ms to 5 % of its answers (seeded). The agent has three upstreams over the same three
endpoints, the same in all but hedging (round robin, so that each endpoint gets a third):

    plain       -- no `hedge` section
    hedge-p95   -- hedge: { delay: p95, max: 1 }    (the p95 of the upstream's own recent calls)
    hedge-20ms  -- hedge: { delay: 20ms, max: 1 }

A bounded load goes through the agent's plain HTTP proxy listener (`listen.proxy`, `Host: NAME`):
`--workers` client threads, each one keep-alive connection and one request at a time (closed loop),
`--requests` requests per variant per round. The variants run alternately, `--rounds` rounds, after
one warm-up segment each (not counted; it also fills the p95 window). For each segment: latency
percentiles seen by the client, and the extra requests hedging cost, counted at the servers (the
requests the three servers received, minus the requests the client made, over the latter); the
agent's own count of hedges (`x-levee-hedges`) is shown beside it.

Goals (issue 15): p99 with hedging >= 3 x lower than without; extra requests <= 10 %.

Everything runs on loopback in a temporary directory; every child runs in its own session and is
killed by process group on exit. Python 3 stdlib only.

    bench/hedging.py                       # LEVEE_BINARY or .build/release/levee
    bench/hedging.py --rounds 7 --requests 2000
"""

import argparse
import http.client
import http.server
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing benchkit
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchkit as bk  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COUNT_PATH = "/__bench_count"
VARIANTS = [
    ("plain", ""),
    ("hedge-p95", "    hedge: { delay: p95, max: 1 }\n"),
    ("hedge-20ms", "    hedge: { delay: 20ms, max: 1 }\n"),
]

# --------------------------------------------------------------------------- the upstream server


def serve(port, slow_percent, slow_ms, seed):
    """One upstream endpoint: answers every GET with a small body; `slow_percent` % of them (seeded)
    after `slow_ms` more. GET /__bench_count answers how many other requests it received."""
    lock = threading.Lock()
    state = {"count": 0}
    rng = random.Random(seed)
    body = b"levee hedging bench\n"

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == COUNT_PATH:
                with lock:
                    payload = str(state["count"]).encode()
                self._answer(payload)
                return
            with lock:
                state["count"] += 1
                slow = rng.random() * 100 < slow_percent
            if slow:
                time.sleep(slow_ms / 1000)
            self._answer(body)

        def _answer(self, payload):
            try:
                self.send_response(200)
                self.send_header("content-type", "text/plain")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the agent abandoned this attempt (a hedge won) and closed the connection

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 512

    Server(("127.0.0.1", port), Handler).serve_forever()


# --------------------------------------------------------------------------- probes


def server_count(port):
    answer = bk.http_get(port, COUNT_PATH)
    assert answer is not None and answer[0] == 200, answer
    return int(answer[2])


def answers(port, host="x", path=COUNT_PATH):
    answer = bk.http_get(port, path, host=host)
    return answer is not None and answer[0] == 200


# --------------------------------------------------------------------------- load


def segment(proxy_port, upstream, requests, workers):
    """`requests` GETs through the proxy to `upstream`, `workers` at a time; returns the latencies
    (seconds), the hedges the agent reported and the errors."""
    latencies = []
    hedges = [0]
    errors = [0]
    lock = threading.Lock()
    left = [requests]

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
        mine = []
        my_hedges = 0
        my_errors = 0
        while True:
            with lock:
                if left[0] == 0:
                    break
                left[0] -= 1
            start = time.perf_counter()
            try:
                conn.request("GET", "/item", headers={"Host": upstream})
                r = conn.getresponse()
                r.read()
                took = time.perf_counter() - start
                if r.status != 200 or r.getheader("x-levee-outcome") != "ok":
                    my_errors += 1
                my_hedges += int(r.getheader("x-levee-hedges") or 0)
                mine.append(took)
            except (OSError, http.client.HTTPException):
                my_errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
        conn.close()
        with lock:
            latencies.extend(mine)
            hedges[0] += my_hedges
            errors[0] += my_errors

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, hedges[0], errors[0]


def percentile(values, q):
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(q * len(ordered) + 0.5) - 1))
    return ordered[rank]


# --------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levee", default=os.environ.get("LEVEE_BINARY",
                                                      os.path.join(ROOT, ".build", "release", "levee")))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=2000, help="requests per variant per round")
    ap.add_argument("--workers", type=int, default=8, help="concurrent client connections")
    ap.add_argument("--slow-percent", type=float, default=5.0)
    ap.add_argument("--slow-ms", type=float, default=200.0)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--json", help="also write all results to this file")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # internal: run one upstream server
    args = ap.parse_args()
    bk.report_steal()

    if args.serve is not None:
        serve(args.serve, args.slow_percent, args.slow_ms, args.seed)
        return

    if not os.path.exists(args.levee):
        sys.exit(f"no agent binary at {args.levee} (set LEVEE_BINARY or --levee)")
    bk.install_cleanup()
    tmp = tempfile.mkdtemp(prefix="levee-bench-hedging-")

    ports = bk.free_ports(3)
    servers = []
    for index, port in enumerate(ports):
        slow = args.slow_percent if index == 0 else 0
        cmd = [sys.executable, os.path.abspath(__file__), "--serve", str(port), "--slow-percent", str(slow),
               "--slow-ms", str(args.slow_ms), "--seed", str(args.seed + index)]
        servers.append(bk.spawn(cmd, os.path.join(tmp, f"server-{index}.log")))
    for port, p in zip(ports, servers):
        bk.wait_for(f"server on {port}", lambda port=port: answers(port), 10, proc=p)

    proxy_port = bk.free_ports(1)[0]
    endpoints = ", ".join(f'"127.0.0.1:{port}"' for port in ports)
    config = os.path.join(tmp, "levee.yaml")
    with open(config, "w") as f:
        f.write(f"""service: bench
listen: {{ socket: {tmp}/levee.sock, admin_socket: {tmp}/admin.sock, http: "off", proxy: "127.0.0.1:{proxy_port}" }}
defaults:
  endpoints: [{endpoints}]
  load_balancing: {{ policy: round_robin }}
  timeouts: {{ connect: 1s, attempt: 2s, total: 5s }}
  bulkhead: {{ max_concurrent: 256, max_queue: 256, queue_timeout: 1s, reserved_critical: 0 }}
upstreams:
""")
        for name, hedge in VARIANTS:
            f.write(f"  {name}:\n    protocol: http\n{hedge}")
    agent = bk.spawn([args.levee, "agent", "--config", config, "--log-level", "warning"],
                  os.path.join(tmp, "agent.log"))
    bk.wait_for("agent proxy", lambda: answers(proxy_port, host="plain", path="/item"), 30, proc=agent)

    def counted():
        return sum(server_count(port) for port in ports)

    bk.log(f"warm-up: {args.requests} requests per variant")
    for name, _ in VARIANTS:
        segment(proxy_port, name, args.requests, args.workers)

    results = {name: [] for name, _ in VARIANTS}
    for round_number in range(args.rounds):
        order = VARIANTS if round_number % 2 == 0 else list(reversed(VARIANTS))
        for name, _ in order:
            before = counted()
            latencies, hedges, errors = segment(proxy_port, name, args.requests, args.workers)
            received = counted() - before
            made = len(latencies) + errors
            row = {
                "round": round_number + 1,
                "requests": made,
                "errors": errors,
                "received": received,
                "extra_percent": 100.0 * (received - made) / made,
                "agent_hedges": hedges,
                "p50_ms": 1000 * percentile(latencies, 0.50),
                "p99_ms": 1000 * percentile(latencies, 0.99),
                "p999_ms": 1000 * percentile(latencies, 0.999),
                "max_ms": 1000 * max(latencies),
            }
            results[name].append(row)
            bk.log(f"round {row['round']} {name:10}: p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms, "
                f"p99.9 {row['p999_ms']:.2f} ms; servers received {received} for {made} "
                f"(+{row['extra_percent']:.2f} %, agent hedges {hedges}), errors {errors}")

    def summary(name, key):
        values = [row[key] for row in results[name]]
        return statistics.median(values), min(values), max(values)

    print()
    print(f"hedging: {args.rounds} rounds x {args.requests} requests per variant, {args.workers} workers, "
          f"one endpoint of three adds {args.slow_ms:.0f} ms to {args.slow_percent:g} % of its answers")
    print(f"{'variant':11} {'p50 ms':>18} {'p99 ms':>22} {'p99.9 ms':>22} {'extra requests %':>22} {'errors':>7}")
    for name, _ in VARIANTS:
        cells = []
        for key in ("p50_ms", "p99_ms", "p999_ms", "extra_percent"):
            median, low, high = summary(name, key)
            cells.append(f"{median:7.2f} [{low:.2f}-{high:.2f}]")
        errors = sum(row["errors"] for row in results[name])
        print(f"{name:11} {cells[0]:>18} {cells[1]:>22} {cells[2]:>22} {cells[3]:>22} {errors:>7}")
    print()
    off_p99 = summary("plain", "p99_ms")[0]
    verdicts = []
    for name in ("hedge-p95", "hedge-20ms"):
        p99 = summary(name, "p99_ms")[0]
        extra = summary(name, "extra_percent")[0]
        ratio = off_p99 / p99 if p99 > 0 else float("inf")
        verdicts.append((f"{name}: p99 {off_p99:.2f} ms without / {p99:.2f} ms with = {ratio:.1f} x lower",
                         ">= 3 x", ratio >= 3))
        verdicts.append((f"{name}: extra requests at the servers {extra:.2f} %", "<= 10 %", extra <= 10))
    for text, goal, met in verdicts:
        print(f"  {'MET   ' if met else 'MISSED'} {text} (goal {goal})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=2)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        bk.cleanup()
