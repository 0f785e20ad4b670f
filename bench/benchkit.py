"""Helpers shared by the bench/ scripts: child processes in their own sessions
(killed by process group on exit, Ctrl-C included), agents on loopback, small threaded HTTP servers,
an open-loop load at a fixed rate, and the agent's /metrics. Python 3 stdlib only."""

import atexit
import datetime
import http.client
import json
import os
import platform
import queue
import signal
import socket
import statistics
import tempfile
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILDREN = []  # Popen objects, each the leader of its own process group
_cleaned = False


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the host's steal


def cpu_ticks():
    """(all, stolen) clock ticks of this machine so far (/proc/stat): on a virtual machine, time the host
    gave to others while this one had work, which no harness can make up for."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return sum(fields[:8]), fields[7]


def stolen_share(before, after):
    """The share of the ticks between two cpu_ticks() readings that the host stole."""
    return (after[1] - before[1]) / max(1, after[0] - before[0])


def report_steal():
    """At exit, logs how much of this machine's CPU the host stole while the script ran: figures from a
    run with more than a few per cent stolen measure the neighbours as much as Levee."""
    start = cpu_ticks()
    atexit.register(lambda: log(f"the host stole {100 * stolen_share(start, cpu_ticks()):.1f} % of this "
                                "machine's CPU time during the run (/proc/stat steal)"))


# --------------------------------------------------------------------------- children & cleanup


def spawn(cmd, log_path=None, env=None, pipe=False):
    """Starts `cmd` in its own session. With `pipe`, its stdout+stderr is a pipe (read it at once:
    the caller's reader thread); else it goes to `log_path`."""
    if pipe:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=env, start_new_session=True, bufsize=1, text=True, errors="replace")
    else:
        out = open(log_path, "ab")
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=env, start_new_session=True)
        out.close()
    CHILDREN.append(p)
    return p


def stop(p, grace=5.0):
    """SIGTERM to the child's own process group, SIGKILL after `grace` seconds."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=5)
    if p in CHILDREN:
        CHILDREN.remove(p)


def stop_all(procs, grace=5.0):
    """SIGTERM to all first, then waits: N agents drain in parallel, not one after the other."""
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for p in procs:
        stop(p, grace)


def cleanup():
    global _cleaned
    if _cleaned:
        return
    _cleaned = True
    for p in list(CHILDREN):
        try:
            stop(p, grace=2.0)
        except Exception as e:  # keep cleaning up the others
            log(f"cleanup: pid {p.pid}: {e}")


def on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def install_cleanup():
    atexit.register(cleanup)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)


# --------------------------------------------------------------------------- waiting & ports


def free_ports(n):
    """`n` distinct free TCP ports on 127.0.0.1 (bound together, then released)."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def free_udp_tcp_ports(n):
    """`n` distinct ports free for both UDP and TCP on 127.0.0.1 (gossip binds both); also good for
    TCP alone. Every socket stays bound until all `n` are chosen, so no port is handed out twice."""
    ports, socks = [], []
    try:
        while len(ports) < n:
            t = socket.socket()
            socks.append(t)
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(u)
            try:
                u.bind(("127.0.0.1", port))
                ports.append(port)
            except OSError:
                pass
    finally:
        for s in socks:
            s.close()
    return ports


def wait_for(what, predicate, timeout, interval=0.1, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {proc.returncode}")
        if predicate():
            return
        time.sleep(interval)
    raise RuntimeError(f"{what}: not ready after {timeout} s")


def http_get(port, path, host="x", timeout=2.0):
    """(status, headers, body) of GET http://127.0.0.1:port/path, or None on a transport error."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request("GET", path, headers={"Host": host})
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, dict(r.getheaders()), body
    except OSError:
        return None


# --------------------------------------------------------------------------- agents


def write_agent_config(path, text):
    with open(path, "w") as f:
        f.write(text)


def start_agent(levee, config, tmp, name, pipe=False):
    """Starts `levee agent --config config` (JSON logs at notice and above); `wait_ready` waits for it."""
    log_path = os.path.join(tmp, f"{name}.log")
    cmd = [levee, "agent", "--config", config, "--log-level", "notice", "--log-format", "json"]
    p = spawn(cmd, log_path=log_path, pipe=pipe)
    return p, log_path


def wait_ready(p, name, http_port, log_path=None, timeout=30):
    def ready():
        r = http_get(http_port, "/readyz", timeout=0.5)
        return r is not None and r[0] == 200

    try:
        wait_for(name, ready, timeout, interval=0.1, proc=p)
    except RuntimeError:
        if log_path and os.path.exists(log_path):
            with open(log_path, errors="replace") as f:
                log(f"{name} log:\n{f.read()[-3000:]}")
        raise


def metrics(http_port):
    """The agent's /metrics as {(name, frozenset(labels)): value}."""
    r = http_get(http_port, "/metrics", timeout=5)
    if r is None or r[0] != 200:
        return {}
    out = {}
    for line in r[2].decode().splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, _, value = line.rpartition(" ")
        if "{" in name_labels:
            name, _, rest = name_labels.partition("{")
            labels = frozenset(tuple(kv.split("=", 1)) for kv in _split_labels(rest.rstrip("}")))
        else:
            name, labels = name_labels, frozenset()
        try:
            out[(name, labels)] = float(value)
        except ValueError:
            pass
    return out


def _split_labels(s):
    parts, cur, quoted = [], "", False
    for ch in s:
        if ch == '"':
            quoted = not quoted
            continue
        if ch == "," and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        parts.append(cur)
    return parts


def metric_sum(m, name, **labels):
    """Sum of the series of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in m.items() if n == name and want <= set(ls))


# --------------------------------------------------------------------------- load


class OpenLoopLoad:
    """Sends GET requests at a fixed rate (an open loop: a request is due every 1/rate s whether or not
    the earlier ones have answered) through a pool of worker threads, each with its own keep-alive
    connection to 127.0.0.1:port. A request that finds no free worker within `max_lag` of its due time
    is counted as `dropped` (the load is bounded: never more than `workers` in flight)."""

    def __init__(self, port, host, rate, workers=32, path="/", timeout=10.0, max_lag=1.0):
        self.port, self.host, self.rate, self.path, self.timeout = port, host, rate, path, timeout
        self.max_lag = max_lag
        self.q = queue.Queue()
        self.lock = threading.Lock()
        self.results = []  # (t_due, t_done, status or None, outcome header)
        self.dropped = 0
        self.workers = [threading.Thread(target=self._work, daemon=True) for _ in range(workers)]

    def _connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)

    def _work(self):
        conn = None
        while True:
            due = self.q.get()
            if due is None:
                return
            if time.monotonic() - due > self.max_lag:
                with self.lock:
                    self.dropped += 1
                continue
            status, outcome = None, None
            for attempt in range(2):  # a keep-alive connection the server closed: reconnect once
                try:
                    if conn is None:
                        conn = self._connection()
                    conn.request("GET", self.path, headers={"Host": self.host})
                    r = conn.getresponse()
                    r.read()
                    status, outcome = r.status, r.getheader("x-levee-outcome")
                    if r.getheader("connection", "").lower() == "close":
                        conn.close()
                        conn = None
                    break
                except (OSError, http.client.HTTPException):
                    if conn is not None:
                        conn.close()
                    conn = None
                    if attempt == 1:
                        status, outcome = None, "transport_error"
            with self.lock:
                self.results.append((due, time.monotonic(), status, outcome))

    def run(self, seconds, on_tick=None):
        """Sends for `seconds` (blocking), then waits for the answers still in flight."""
        for w in self.workers:
            w.start()
        start = time.monotonic()
        n = int(seconds * self.rate)
        for i in range(n):
            due = start + i / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.q.put(due)
            if on_tick is not None:
                on_tick(due)
        for _ in self.workers:
            self.q.put(None)
        for w in self.workers:
            w.join(timeout=self.timeout + 5)
        return start


# --------------------------------------------------------------------------- reporting


def med_range(xs, fmt="{:.2f}"):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "–"
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    deb = ""
    try:
        with open("/etc/debian_version") as f:
            deb = "Debian " + f.read().strip()
    except OSError:
        pass
    return f"{os.cpu_count()} vCPU {platform.machine()} `{cpu}`, {deb}, Linux {platform.release()}"


def revision():
    r = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    return r.stdout.strip() or "?"


def binary(levee):
    """What the report says about the agent binary: its path, `--version` and modification time (the
    tree the script runs from may be newer than the binary)."""
    r = subprocess.run([levee, "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    mtime = datetime.datetime.fromtimestamp(os.path.getmtime(levee), datetime.timezone.utc)
    return f"`{levee}` ({r.stdout.strip() or '?'}, file dated {mtime.strftime('%Y-%m-%d %H:%M UTC')})"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# --------------------------------------------------------------------------- a small HTTP server


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512
    allow_reuse_address = True


def serve(port, handle):
    """Serves HTTP/1.1 keep-alive on 127.0.0.1:port; `handle(path) -> (status, body bytes)` or
    `(status, body bytes, {header: value})`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            status, body, *extra = handle(self.path)
            self.send_response(status)
            self.send_header("content-type", "text/plain")
            for name, value in (extra[0] if extra else {}).items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = QuietServer(("127.0.0.1", port), Handler)
    server.serve_forever(poll_interval=0.2)


def json_body(obj):
    return json.dumps(obj).encode()


# --------------------------------------------------------------------------- rounds & the report


def alternate_rounds(args, name, run_round, report):
    """Runs `run_round(args, mode, round_no, work)` for each of `args.modes`, `args.rounds` times, the
    order reversed every other round; then writes `report(args, results, seconds, load_before,
    load_after)` (markdown) and the raw results to `args.out`/NAME-DATE.md and .json, and prints it."""
    install_cleanup()
    load_before = loadavg()
    start = time.monotonic()
    results = []
    with tempfile.TemporaryDirectory(prefix=f"levee-{name}-") as work:
        for round_no in range(1, args.rounds + 1):
            order = args.modes if round_no % 2 == 1 else list(reversed(args.modes))
            for mode in order:
                results.append(run_round(args, mode, round_no, work))
    cleanup()
    md = report(args, results, time.monotonic() - start, load_before, loadavg())
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{name}-{datetime.datetime.now().strftime('%Y-%m-%d-%H%M%S')}.md")
    with open(path, "w") as f:
        f.write(md)
    with open(path[:-3] + ".json", "w") as f:
        json.dump({"args": vars(args), "results": results}, f, indent=1)
    print(md)
    log(f"written {path}")
