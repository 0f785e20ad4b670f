#!/usr/bin/python3
"""Soak: the agent under a long mixed load, its upstreams flapping, reloaded and faulted throughout.

One agent (`LEVEE_BINARY`, default .build/release/levee) with four HTTP upstreams served by a child
process of this script. Every `--flap` seconds each upstream takes one of four modes (seeded):
healthy (200), failing (503), slow (300 ms, then 200) or resetting (the connection is reset with no
answer). Meanwhile, from this process:

    Guard Call      --call-workers threads, the `levee` Python client (clients/python), one call at a time
    proxy           --proxy-workers threads, plain HTTP/1.1 keep-alive through `listen.proxy`
    Acquire/Release --permit-workers threads, `client.permit(...)` around a direct call to the upstream
    Watch           --watchers subscribers, each reading `client.watch()` for the whole run
    reload          every 30 s the configuration is rewritten (a retry count toggles) and SIGHUP sent
    faults          every 40 s `levee fault add` (abort, delay or reset, 50 %); every other one is
                    cleared with `levee fault clear` 20 s later (added `--for 30s`), the others
                    expire on their own (`--for 10s`) and `levee fault list` must be empty 20 s
                    later (skipped, and said so, when the agent's chaos faults are off)

Every 10 s it samples the agent's RSS, open file descriptors and threads (/proc), and the latency and
answers of the calls in those 10 s. It fails (exit 1) when:
  - the agent dies;
  - a fault clear fails, or a fault outlives its `--for`;
  - a call gets no answer: a Guard call that ends in a transport error (not an outcome), a proxy
    request with no HTTP answer, a permit that neither grants nor denies, a watcher whose stream ends;
  - RSS, fds or threads trend upward beyond noise: the mean of the last third of the samples above
    the mean of the middle third by more than max(8 MiB, 10 %) for RSS, 16 for fds, 4 for threads.
The first third is warm-up (pools, caches, windows filling) and is not judged.

    bench/soak.py --minutes 30 --report docs/soak-30m.json
    bench/soak.py --minutes 2                              # a quick check of the script itself

Loopback only, a temporary directory, every child killed on exit. Needs python3-grpcio and
python3-grpc-tools (for the client's stubs).
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchkit as bk  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UPSTREAMS = ["alpha", "beta", "gamma", "delta"]
MODES = ["healthy", "failing", "slow", "resetting"]
# Healthy most of the time, so that breakers close again and every path keeps being exercised.
MODE_WEIGHTS = [0.55, 0.15, 0.15, 0.15]

# --------------------------------------------------------------------------- the upstream servers


def serve_upstreams(ports, mode_file):
    """The child process: one keep-alive HTTP/1.1 server per port, each reading its mode from
    `mode_file` (JSON {port: mode}, rewritten by the parent) at most every 200 ms."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    cache = {"at": 0.0, "modes": {}}
    lock = threading.Lock()

    def mode_of(port):
        with lock:
            now = time.monotonic()
            if now - cache["at"] > 0.2:
                try:
                    with open(mode_file) as f:
                        cache["modes"] = json.load(f)
                except (OSError, ValueError):
                    pass
                cache["at"] = now
            return cache["modes"].get(str(port), "healthy")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self):
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            mode = mode_of(self.server.server_address[1])
            if mode == "resetting":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
                return
            if mode == "slow":
                time.sleep(0.3)
            status = 503 if mode == "failing" else 200
            body = b'{"ok":true}' if status == 200 else b"down"
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = answer
        do_POST = answer

        def log_message(self, *a):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):
            pass

    servers = [Server(("127.0.0.1", port), Handler) for port in ports]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()


# --------------------------------------------------------------------------- the agent's config


def agent_config(tmp, ports, http_port, proxy_port, generation, chaos=True):
    lines = [
        "service: soak",
        "listen:",
        f"  socket: {tmp}/run/levee.sock",
        f"  admin_socket: {tmp}/run/admin.sock",
        f"  http: 127.0.0.1:{http_port}",
        f"  proxy: 127.0.0.1:{proxy_port}",
        *(["chaos: { enabled: true, max_duration: 1m, max_active: 8 }"] if chaos else []),
        "defaults:",
        "  timeouts: { connect: 200ms, attempt: 500ms, total: 1500ms }",
        # The retry count toggles at each reload, so that every reload changes every upstream.
        f"  retry: {{ max_attempts: {2 + generation % 2}, backoff: {{ base: 20ms, max: 200ms }} }}",
        "  breaker: { failure_rate: 50, min_calls: 10, open_for: 2s, open_for_max: 10s }",
        "  bulkhead: { max_concurrent: 32, max_queue: 32 }",
        "upstreams:",
    ]
    for name, port in zip(UPSTREAMS, ports):
        lines.append(f"  {name}:")
        lines.append(f'    endpoints: ["127.0.0.1:{port}"]')
        lines.append('    fallback: { static: { status: 200, body: "fallback" } }')
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the Python client


def load_client(tmp):
    """The repository's `levee` package, with its stubs generated from proto/ into `tmp`."""
    pkg = os.path.join(tmp, "py")
    shutil.copytree(os.path.join(ROOT, "clients/python/src/levee"), os.path.join(pkg, "levee"))
    from grpc_tools import protoc

    args = ["grpc_tools.protoc", f"--proto_path={ROOT}/proto", f"--python_out={pkg}", f"--grpc_python_out={pkg}",
            f"{ROOT}/proto/levee/v1/guard.proto"]
    if protoc.main(args) != 0:
        raise SystemExit("soak: protoc failed on proto/levee/v1/guard.proto")
    open(os.path.join(pkg, "levee", "v1", "__init__.py"), "a").close()
    sys.path.insert(0, pkg)
    import levee  # noqa: F401

    return levee


# --------------------------------------------------------------------------- the run


class Tally:
    """What the workers saw in the current 10 s window, and in all."""

    def __init__(self):
        self.lock = threading.Lock()
        self.window = []  # (kind, seconds)
        self.counts = {}  # (kind, result) -> n
        self.no_answer = []  # descriptions, in order

    def add(self, kind, seconds, result):
        with self.lock:
            self.window.append((kind, seconds))
            self.counts[(kind, result)] = self.counts.get((kind, result), 0) + 1

    def lost(self, what):
        with self.lock:
            self.no_answer.append(f"{time.strftime('%H:%M:%S')} {what}")

    def take_window(self):
        with self.lock:
            window, self.window = self.window, []
        return window


def proc_sample(pid):
    with open(f"/proc/{pid}/status") as f:
        status = dict(line.split(":", 1) for line in f if ":" in line)
    rss_kib = int(status["VmRSS"].split()[0])
    threads = int(status["Threads"])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss_kib / 1024.0, fds, threads


def trend(samples, key, absolute, relative):
    """(mean of the middle third, mean of the last third, whether the last exceeds the middle by more
    than max(absolute, relative x middle))."""
    values = [s[key] for s in samples]
    third = len(values) // 3
    if third < 2:
        return None
    middle = statistics.mean(values[third:2 * third])
    last = statistics.mean(values[2 * third:])
    return middle, last, last - middle > max(absolute, relative * middle)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--call-workers", type=int, default=6)
    parser.add_argument("--proxy-workers", type=int, default=6)
    parser.add_argument("--permit-workers", type=int, default=2)
    parser.add_argument("--watchers", type=int, default=3)
    parser.add_argument("--flap", type=float, default=15, help="seconds between upstream mode changes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report", help="write the samples and the verdict as JSON here")
    args = parser.parse_args()
    bk.report_steal()
    bk.install_cleanup()

    levee_bin = os.environ.get("LEVEE_BINARY") or os.path.join(ROOT, ".build/release/levee")
    if not os.access(levee_bin, os.X_OK):
        raise SystemExit(f"soak: no levee binary at {levee_bin} (swift build -c release, or set LEVEE_BINARY)")
    rng = random.Random(args.seed)
    tmp = tempfile.mkdtemp(prefix="levee-soak-")
    levee = load_client(tmp)

    ports = bk.free_ports(len(UPSTREAMS) + 2)
    upstream_ports, http_port, proxy_port = ports[:4], ports[4], ports[5]
    mode_file = os.path.join(tmp, "modes.json")
    modes = {str(p): "healthy" for p in upstream_ports}
    with open(mode_file, "w") as f:
        json.dump(modes, f)
    bk.spawn([sys.executable, __file__, "--serve", ",".join(map(str, upstream_ports)), mode_file],
             log_path=os.path.join(tmp, "upstreams.log"))

    config = os.path.join(tmp, "levee.yaml")
    generation = 0
    # An agent without chaos faults refuses the `chaos` key: then the soak runs without faults.
    bk.write_agent_config(config, agent_config(tmp, upstream_ports, http_port, proxy_port, generation))
    chaos = subprocess.run([levee_bin, "validate", config], capture_output=True).returncode == 0
    if not chaos:
        bk.log("this agent has no chaos faults: the soak runs without them")
        bk.write_agent_config(config, agent_config(tmp, upstream_ports, http_port, proxy_port, generation, chaos))
    agent, agent_log = bk.start_agent(levee_bin, config, tmp, "agent")
    bk.wait_ready(agent, "agent", http_port, agent_log)
    sock = f"{tmp}/run/levee.sock"
    admin = f"{tmp}/run/admin.sock"
    bk.log(f"agent pid {agent.pid} ({bk.binary(levee_bin)}), {args.minutes} min, folder {tmp}")

    tally = Tally()
    stopping = threading.Event()
    client = levee.Levee(socket=sock)

    def call_worker(index):
        r = random.Random(args.seed * 1000 + index)
        while not stopping.is_set():
            name = r.choice(UPSTREAMS)
            started = time.monotonic()
            try:
                response = client.call(name, "GET", f"/call/{index}", timeout=3.0)
                tally.add("call", time.monotonic() - started, response.outcome.name.lower())
            except levee.LeveeError as error:
                if stopping.is_set():
                    return
                tally.lost(f"Guard call to {name}: {error}")
                tally.add("call", time.monotonic() - started, "no_answer")

    def proxy_worker(index):
        r = random.Random(args.seed * 2000 + index)
        connection = None
        while not stopping.is_set():
            name = r.choice(UPSTREAMS)
            started = time.monotonic()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=5)
                connection.request("GET", f"/proxy/{index}", headers={"Host": name})
                answer = connection.getresponse()
                answer.read()
                tally.add("proxy", time.monotonic() - started, answer.getheader("x-levee-outcome") or str(answer.status))
            except (OSError, http.client.HTTPException) as error:
                if stopping.is_set():
                    return
                tally.lost(f"proxy request to {name}: {type(error).__name__} {error}")
                tally.add("proxy", time.monotonic() - started, "no_answer")
                connection = None

    def permit_worker(index):
        r = random.Random(args.seed * 3000 + index)
        while not stopping.is_set():
            name = r.choice(UPSTREAMS)
            port = upstream_ports[UPSTREAMS.index(name)]
            started = time.monotonic()
            try:
                with client.permit(name, timeout=2.0, lease=5.0) as permit:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                    try:
                        connection.request("GET", f"/permit/{index}")
                        if connection.getresponse().status >= 500:
                            permit.failed()
                    except (OSError, http.client.HTTPException):
                        permit.failed()
                    finally:
                        connection.close()
                tally.add("permit", time.monotonic() - started, "granted")
            except levee.PermitDenied:
                tally.add("permit", time.monotonic() - started, "denied")
                time.sleep(0.05)
            except levee.LeveeError as error:
                if stopping.is_set():
                    return
                tally.lost(f"permit for {name}: {error}")
                tally.add("permit", time.monotonic() - started, "no_answer")

    watcher_events = [0] * args.watchers

    def watcher(index):
        try:
            for _ in client.watch():
                watcher_events[index] += 1
                if stopping.is_set():
                    return
        except levee.LeveeError as error:
            if not stopping.is_set():
                tally.lost(f"watcher {index}: {error}")
            return
        if not stopping.is_set():
            tally.lost(f"watcher {index}: its stream ended")

    def cli(*arguments):
        return subprocess.run([levee_bin, *arguments, "--admin-socket", admin], capture_output=True, text=True,
                              timeout=20)

    threads = []
    for kind, count in [(call_worker, args.call_workers), (proxy_worker, args.proxy_workers),
                        (permit_worker, args.permit_workers), (watcher, args.watchers)]:
        for index in range(count):
            thread = threading.Thread(target=kind, args=(index,), daemon=True)
            thread.start()
            threads.append(thread)

    samples, events, failures = [], [], []
    faults_supported = chaos
    active_fault = None
    fault_count = 0
    start = time.monotonic()
    end = start + args.minutes * 60
    next_sample, next_flap, next_reload, next_fault = start + 10, start + args.flap, start + 30, start + 20
    try:
        while time.monotonic() < end:
            time.sleep(0.2)
            now = time.monotonic()
            if agent.poll() is not None:
                failures.append(f"the agent died (exit {agent.returncode}) at t={now - start:.0f}s")
                break
            if now >= next_flap:
                next_flap += args.flap
                modes = {str(p): rng.choices(MODES, MODE_WEIGHTS)[0] for p in upstream_ports}
                with open(mode_file + ".new", "w") as f:
                    json.dump(modes, f)
                os.replace(mode_file + ".new", mode_file)
                events.append((round(now - start), "modes " + " ".join(
                    f"{n}={modes[str(p)]}" for n, p in zip(UPSTREAMS, upstream_ports))))
            if now >= next_reload:
                next_reload += 30
                generation += 1
                bk.write_agent_config(
                    config, agent_config(tmp, upstream_ports, http_port, proxy_port, generation, chaos))
                os.kill(agent.pid, signal.SIGHUP)
                events.append((round(now - start), f"reload {generation}"))
            if now >= next_fault and faults_supported:
                next_fault += 20
                if active_fault:
                    fault_id, expires = active_fault
                    if expires:
                        listed = json.loads(cli("fault", "list", "--json").stdout or "[]")
                        left = [f.get("id") for f in listed]
                        events.append((round(now - start), f"fault {fault_id} expired: list {left}"))
                        if left:
                            failures.append(f"fault {fault_id} (--for 10s) still listed 20 s later: {left}")
                    else:
                        cleared = cli("fault", "clear", fault_id)
                        events.append((round(now - start), f"fault clear {fault_id}: exit {cleared.returncode}"))
                        if cleared.returncode != 0:
                            failures.append(f"fault clear {fault_id} failed: {cleared.stderr.strip()[:200]}")
                    active_fault = None
                else:
                    kind = rng.choice([["--abort", "503"], ["--delay", "200ms"], ["--reset"]])
                    name = rng.choice(UPSTREAMS)
                    expires = fault_count % 2 == 1
                    fault_count += 1
                    lasting = "10s" if expires else "30s"
                    added = cli("fault", "add", name, *kind, "--percent", "50", "--for", lasting, "--json")
                    if added.returncode != 0:
                        faults_supported = False
                        events.append((round(now - start), f"faults off: {added.stderr.strip()[:200]}"))
                    else:
                        active_fault = (json.loads(added.stdout)["id"], expires)
                        events.append((round(now - start),
                                       f"fault add {name} {' '.join(kind)} --for {lasting}: {active_fault[0]}"))
            if now >= next_sample:
                next_sample += 10
                rss, fds, thread_count = proc_sample(agent.pid)
                window = tally.take_window()
                latencies = sorted(s for _, s in window)

                def pct(p):
                    return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0

                sample = {"t": round(now - start), "rss_mib": round(rss, 1), "fds": fds, "threads": thread_count,
                          "calls": len(window), "p50_ms": round(pct(0.5), 1), "p99_ms": round(pct(0.99), 1)}
                samples.append(sample)
                bk.log(f"t={sample['t']}s rss {sample['rss_mib']} MiB, fds {fds}, threads {thread_count}, "
                       f"{len(window)} calls, p50 {sample['p50_ms']} ms, p99 {sample['p99_ms']} ms")
    except KeyboardInterrupt:
        failures.append("interrupted")
    finally:
        stopping.set()
    # The workers stop at their next call; the client closes under none of them.
    for thread in threads:
        thread.join(timeout=10)

    alive = agent.poll() is None
    if tally.no_answer:
        failures.append(f"{len(tally.no_answer)} calls got no answer; first: {tally.no_answer[:5]}")
    judged = {}
    for key, absolute, relative in [("rss_mib", 8.0, 0.10), ("fds", 16, 0.0), ("threads", 4, 0.0)]:
        result = trend(samples, key, absolute, relative)
        if result is None:
            continue
        middle, last, rising = result
        judged[key] = {"middle_third": round(middle, 1), "last_third": round(last, 1), "rising": rising}
        if rising:
            failures.append(f"{key} rises: {middle:.1f} in the middle third, {last:.1f} in the last")
    if len(samples) < 6:
        failures.append(f"only {len(samples)} samples: run at least 1 minute to judge trends")
    counts = {f"{kind} {result}": n for (kind, result), n in sorted(tally.counts.items())}
    report = {
        "minutes": args.minutes, "seed": args.seed, "binary": bk.binary(levee_bin), "machine": bk.machine(),
        "samples": samples, "trends": judged, "counts": counts, "watch_events": watcher_events,
        "faults": faults_supported, "events": events, "no_answer": tally.no_answer[:50],
        "agent_alive": alive, "verdict": "failed" if failures else "passed", "failures": failures,
    }
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=1)
    print(json.dumps({k: report[k] for k in ("verdict", "failures", "trends", "counts", "watch_events")}, indent=1))
    client.close()
    bk.stop(agent, grace=15)
    bk.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve_upstreams([int(p) for p in sys.argv[2].split(",")], sys.argv[3])
    else:
        main()
