#!/usr/bin/env python3
"""The proxy path's floor: what a proxied HTTP/1.1 request costs on SwiftNIO before Levee's own work.

Measures, in alternating rounds against the same nginx (one worker, the body of bench/guard.py):

  haproxy-http   HAProxy, HTTP mode, one thread, keep-alive to nginx (bench/guard.py's configuration)
  haproxy-tcp    HAProxy, TCP mode: bytes forwarded, no HTTP
  nio-bytes      bench/proxy-floor `bytes`: each app connection paired with its own upstream
                 connection on one event loop, bytes forwarded as they arrive (NIO's channels only)
  nio-codec      bench/proxy-floor `codec`: the same pairing with NIO's HTTP/1.1 codec on both
                 connections, each part forwarded as decoded (NIO's codec, no pool, no policy)
  nio-heads      bench/proxy-floor `heads`: the same pairing, each message framed as bytes (its head's
                 end found, `content-length` read without making strings, a `via` line added)
  levee[-NAME]   the agent's proxy listener (`Host: nginx`), one event loop (LEVEE_EVENT_LOOPS=1);
                 once per --levee binary, so that two builds are compared in the same rounds

For each: CPU per request of the front process (user + system over a `wrk -t2 -c32` run), its
requests per second, and the sequential p50 (`wrk -t1 -c1 --latency`). Medians and ranges over the
rounds. Needs nginx, haproxy, wrk and a Swift toolchain (the floor package builds on first use, about
a minute and a half).

    bench/proxy-floor.py                                  # .build/release/levee, 3 rounds
    bench/proxy-floor.py --levee old=/tmp/a --levee new=/tmp/b --rounds 5
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guard as g  # noqa: E402  (nginx, HAProxy, ports and CPU readings as bench/guard.py has them)
from benchkit import install_cleanup, spawn, stop, wait_for  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLOOR = os.path.join(ROOT, "bench", "proxy-floor")


def answers(port):
    """Whether a GET with `Host: nginx` through `port` is answered 200 (bench/guard.py's check sends
    `Host: x`, which the agent answers 404)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: nginx\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def build_floor():
    r = subprocess.run(["swift", "build", "-c", "release", "--package-path", FLOOR], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"building bench/proxy-floor failed:\n{r.stdout}{r.stderr}")
    return os.path.join(FLOOR, ".build", "release", "proxy-floor")


def start_haproxy(tmp, mode, upstream):
    if mode == "http":
        port = g.free_port()
        return g.start_haproxy(tmp, port, upstream), port
    port = g.free_port()
    conf = os.path.join(tmp, "haproxy-tcp.cfg")
    with open(conf, "w") as f:
        f.write(f"""global
    nbthread 1
    maxconn 4096
defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server nginx 127.0.0.1:{upstream}
""")
    p = spawn(["haproxy", "-db", "-f", conf], os.path.join(tmp, "haproxy-tcp.log"))
    wait_for("haproxy (tcp)", lambda: answers(port), 10, proc=p)
    return p, port


def start_floor(tmp, binary, variant, upstream):
    port = g.free_port()
    p = spawn([binary, variant, str(port), str(upstream), "1"], os.path.join(tmp, f"floor-{variant}.log"))
    wait_for(f"proxy-floor {variant}", lambda: answers(port), 10, proc=p)
    return p, port


def start_levee(tmp, binary, upstream):
    port = g.free_port()
    d = tempfile.mkdtemp(prefix="agent-", dir=tmp)
    config = os.path.join(d, "levee.yaml")
    with open(config, "w") as f:
        f.write(f"""service: bench
listen: {{ socket: {d}/levee.sock, admin_socket: {d}/admin.sock, http: "off", proxy: "127.0.0.1:{port}" }}
upstreams:
  nginx:
    endpoints: ["127.0.0.1:{upstream}"]
    bulkhead: {{ max_concurrent: 256, max_queue: 256, queue_timeout: 1s, reserved_critical: 0 }}
""")
    env = dict(os.environ, LEVEE_EVENT_LOOPS="1")
    p = spawn([binary, "agent", "--config", config, "--log-level", "warning"], os.path.join(d, "agent.log"), env=env)
    wait_for("agent", lambda: answers(port), 60, proc=p)
    return p, port


def wrk(port, connections, seconds, latency=False):
    """(requests, errors, p50 µs or None)."""
    cmd = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "-H", "Host: nginx"]
    cmd += (["--latency"] if latency else []) + [f"http://127.0.0.1:{port}/"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    m = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    p50 = float(m.group(1)) * {"us": 1, "ms": 1000, "s": 1e6}[m.group(2)] if m else None
    return requests, errors, p50


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levee", action="append", default=[],
                    help="[NAME=]PATH of an agent binary (repeatable; default .build/release/levee)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8, help="length of each 32-way run")
    args = ap.parse_args()
    install_cleanup()
    agents = []
    for spec in args.levee or [os.path.join(ROOT, ".build", "release", "levee")]:
        name, _, path = spec.rpartition("=")
        agents.append((f"levee-{name}" if name else "levee", os.path.abspath(path)))
    floor = build_floor()
    tmp = tempfile.mkdtemp(prefix="levee-floor-", dir="/tmp")
    upstream = g.free_port()
    nginx = g.start_nginx(tmp, upstream)
    fronts = [
        ("haproxy-http", lambda: start_haproxy(tmp, "http", upstream)),
        ("haproxy-tcp", lambda: start_haproxy(tmp, "tcp", upstream)),
        ("nio-bytes", lambda: start_floor(tmp, floor, "bytes", upstream)),
        ("nio-codec", lambda: start_floor(tmp, floor, "codec", upstream)),
        ("nio-heads", lambda: start_floor(tmp, floor, "heads", upstream)),
    ] + [(name, lambda path=path: start_levee(tmp, path, upstream)) for name, path in agents]
    rows = {name: [] for name, _ in fronts}
    direct = []
    for r in range(args.rounds):
        direct.append(wrk(upstream, 1, 4, latency=True)[2])
        for name, start in fronts:
            p, port = start()
            wrk(port, 32, 2)  # warm-up: connections, pools, caches
            p50 = wrk(port, 1, 4, latency=True)[2]
            before = g.cpu_us(p.pid)
            requests, errors, _ = wrk(port, 32, args.seconds)
            cpu = (g.cpu_us(p.pid) - before) / requests
            stop(p)
            rows[name].append((cpu, requests / args.seconds, p50, errors))
            print(f"round {r + 1} {name:14s} CPU/request {cpu:6.1f} µs  {requests / args.seconds:8.0f} req/s  "
                  f"seq p50 {p50} µs  errors {errors}", flush=True)
    stop(nginx)

    def summary(values):
        return f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})"

    haproxy_cpu = statistics.median(row[0] for row in rows["haproxy-http"])
    print(f"\nnginx direct: seq p50 {summary(direct)} µs")
    print(f"{'front':14s} {'CPU µs/request':22s} {'÷ HAProxy':10s} {'32-way req/s':28s} {'seq p50 µs':22s} errors")
    for name, values in rows.items():
        cpu, rate, p50, errors = zip(*values)
        print(f"{name:14s} {summary(cpu):22s} {statistics.median(cpu) / haproxy_cpu:<10.2f} "
              f"{summary(rate):28s} {summary(p50):22s} {sum(errors)}")


if __name__ == "__main__":
    main()
