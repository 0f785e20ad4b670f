#!/usr/bin/env python3
"""Guarded-call benchmark: what the Levee agent adds to an HTTP call, beside nginx and HAProxy.

One run measures, sequentially (one call at a time) and 32-way concurrent:

 1. nginx direct      -- nginx on 127.0.0.1 (one worker) serving a small fixed body; `wrk --latency`,
                         1 connection (sequential) or 32 connections (concurrent).
 2. through HAProxy   -- HAProxy 2.6, HTTP mode, one thread, keep-alive to nginx; the same wrk runs.
 3. agent Ping        -- an empty Guard/Ping RPC on the agent's Unix socket (bench/guard/client.cc).
 4. agent Call        -- Guard/Call, GET / on the upstream "nginx" (that same nginx), through the agent;
                         every response's outcome is checked, non-OK ones are counted.
 5. agent proxy       -- the same GET / through the agent's plain HTTP proxy listener (`listen.proxy`,
                         `Host: nginx`), with the same wrk runs as rows 1 and 2.
 6. C-core Ping       -- the same empty Guard/Ping on a minimal C++ server on gRPC's C core (Debian
                         libgrpc++-dev; bench/guard/cserver.cc, stubs generated from guard.proto), on a
                         Unix socket, with the same client: the floor for the agent's Guard RPC, once
                         with the sync API and once with the callback API (`--c-core off` skips it).

and the agent's memory: VmRSS at rest after start, VmHWM (and the largest VmRSS seen) under the
32-way loads. Rows 3 to 5 run once per agent mode: default, and with NIO's executor takeover
(LEVEE_NIO_EXECUTOR=1) when the binary knows that variable. Then the targets, per mode:

  - proxy: added over nginx direct (seq p50)  <= 1.5 x HAProxy's added latency
  - proxy: 32-way req/s >= 0.8 x HAProxy's; agent CPU per request <= 2 x HAProxy's; 0 errors
  - Guard.Call: what Levee adds at p50, sequential: Call p50 - Ping p50 - nginx p50   <= 100 us
  - guarded Calls/s at 32-way >= 70 % of Pings/s at 32-way
  - agent peak RSS (VmHWM) under the 32-way loads <= 64 MiB; VmRSS at rest after start <= 30 MiB
  - Guard Ping (issue 16): agent CPU per RPC at 32-way <= 1.5 x the C core's, and seq p50 <= 1.5 x the
    C core's (the better of its two APIs for each)

The load client gives each of the 32 workers its own channel and connection, as wrk gives each of
its 32 connections; `--shared-channel` puts them on one connection instead (32 streams).

Everything runs on loopback and in a temporary directory (/tmp/levee-bench-XXXX); every child runs
in its own session and is killed by process group on exit, including Ctrl-C. Python 3 stdlib;
needs nginx, haproxy, wrk, g++, libgrpc++-dev and protobuf-compiler-grpc (installed with apt-get if
missing and root).

    bench/guard.py                       # LEVEE_BINARY or .build/release/levee
    bench/guard.py --executor off        # only the default mode
    bench/guard.py --standin             # test the harness against bench/guard/standin.py
"""

import argparse
import atexit
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing benchkit
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchkit import cleanup, log, on_signal, spawn, stop, wait_for  # noqa: E402
import benchkit as bk  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "bench", "guard")
CLIENT = os.path.join(ROOT, "bench", "out", "guard-client")
CSERVER = os.path.join(ROOT, "bench", "out", "guard-cserver")
CCORE_SWIFT = os.path.join(ROOT, "bench", "out", "guard-ccore-swift")
BODY = "levee bench: a small fixed body\n"


def run(cmd, timeout=60, check=True, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()[-2000:]}")
    return r


# --------------------------------------------------------------------------- setup


def ensure_tools():
    missing = [pkg for tool, pkg in (("nginx", "nginx-light"), ("haproxy", "haproxy"), ("wrk", "wrk"),
                                     ("g++", "g++"))
               if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}")]
    if run(["pkg-config", "--exists", "grpc++"], check=False).returncode != 0 or not shutil.which("grpc_cpp_plugin"):
        missing += ["libgrpc++-dev", "protobuf-compiler-grpc"]
    if missing:
        if os.geteuid() != 0:
            sys.exit(f"missing: {' '.join(missing)} (apt-get install -y {' '.join(missing)})")
        log(f"apt-get install -y {' '.join(missing)}")
        run(["apt-get", "install", "-y"] + missing, timeout=600)


def build_client():
    """Builds the load client and the C-core Ping servers (C++, and the Swift spike on the C API) when
    missing or older than their sources."""
    sources = [os.path.join(HERE, name) for name in ("client.cc", "cserver.cc", "build.sh", "ccore-swift/main.swift")]
    sources.append(os.path.join(ROOT, "proto", "levee", "v1", "guard.proto"))
    newest = max(os.path.getmtime(src) for src in sources)
    if all(os.path.exists(b) and os.path.getmtime(b) >= newest for b in (CLIENT, CSERVER, CCORE_SWIFT)):
        return
    log("building bench/out/guard-client, guard-cserver and guard-ccore-swift")
    run([os.path.join(HERE, "build.sh")], timeout=600)


def start_cserver(tmp, api):
    sock = os.path.join(tmp, f"ccore-{api}.sock")
    proc = spawn([CSERVER, "--socket", sock, "--api", api], os.path.join(tmp, f"ccore-{api}.log"))
    wait_for(f"the C-core server ({api} API)", lambda: os.path.exists(sock), 10, proc=proc)
    return proc, sock


def free_port():
    return bk.free_ports(1)[0]


def tcp_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def start_nginx(tmp, port):
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    server {{
        listen 127.0.0.1:{port} reuseport;
        location / {{ default_type text/plain; return 200 "{BODY.strip()}\\n"; }}
    }}
}}
""")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    p = spawn([nginx, "-c", conf, "-p", tmp, "-e", os.path.join(tmp, "nginx-error.log")],
              os.path.join(tmp, "nginx.log"))
    wait_for("nginx", lambda: tcp_answers(port), 10, proc=p)
    return p


def start_haproxy(tmp, port, server_port):
    conf = os.path.join(tmp, "haproxy.cfg")
    with open(conf, "w") as f:
        f.write(f"""global
    nbthread 1
    maxconn 4096
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server nginx 127.0.0.1:{server_port}
""")
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    p = spawn([haproxy, "-db", "-f", conf], os.path.join(tmp, "haproxy.log"))
    wait_for("haproxy", lambda: tcp_answers(port), 10, proc=p)
    return p


def binary_knows(path, needle):
    """Whether the binary contains `needle` (e.g. the name of an environment variable it reads)."""
    data = needle.encode()
    with open(path, "rb") as f:
        tail = b""
        while chunk := f.read(1 << 20):
            if data in tail + chunk:
                return True
            tail = chunk[-len(data):]
    return False


def start_agent(tmp, args, nginx_port, proxy_port, executor):
    """Starts the agent; `proxy_port` None for a binary without the proxy listener (an older one)."""
    sock = os.path.join(tmp, "levee.sock")
    for path in (sock, os.path.join(tmp, "admin.sock")):
        if os.path.exists(path):
            os.unlink(path)
    name = "standin" if args.standin else ("agent-executor" if executor else "agent")
    log_path = os.path.join(tmp, f"{name}.log")
    if args.standin:
        p = spawn(["/usr/bin/python3",
                   os.path.join(HERE, "standin.py"), sock], log_path)
    else:
        config = os.path.join(tmp, "levee.yaml")
        proxy_key = f', proxy: "127.0.0.1:{proxy_port}"' if proxy_port else ""
        with open(config, "w") as f:
            f.write(f"""service: bench
listen: {{ socket: {sock}, admin_socket: {tmp}/admin.sock, http: "off"{proxy_key} }}
upstreams:
  nginx:
    endpoints: ["127.0.0.1:{nginx_port}"]
    bulkhead: {{ max_concurrent: 256, max_queue: 256, queue_timeout: 1s, reserved_critical: 0 }}
""")
        env = dict(os.environ)
        env.pop("LEVEE_NIO_EXECUTOR", None)
        if executor:
            env["LEVEE_NIO_EXECUTOR"] = "1"
        p = spawn([args.levee, "agent", "--config", config, "--log-level", "warning"], log_path, env=env)

    def answers():
        if not os.path.exists(sock):
            return False
        r = subprocess.run([CLIENT, "--target", f"unix://{sock}", "--method", "ping", "--calls", "1",
                            "--warmup", "0", "--deadline-ms", "1000"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=15)
        return r.returncode == 0 and json.loads(r.stdout)["rpc_errors"] == 0

    try:
        wait_for(name, answers, 30, interval=0.2, proc=p)
    except RuntimeError:
        with open(log_path, errors="replace") as f:
            log(f"{name} log:\n{f.read()[-3000:]}")
        raise
    return p, sock, log_path


# --------------------------------------------------------------------------- measurements

TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")


def cpu_us(pid):
    """User + system CPU time of `pid` so far (µs, clock-tick resolution)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_US


def children_cpu_us():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1e6


def measured(fn, server_pid, *a):
    """Runs one load `fn(*a)`; adds the server's and the load tool's CPU per call (µs)."""
    s0, c0 = cpu_us(server_pid), children_cpu_us()
    res = fn(*a)
    s1, c1 = cpu_us(server_pid), children_cpu_us()
    n = res["calls_per_s"] * res.get("seconds", 0) or 1
    res["server_cpu_us_per_call"] = (s1 - s0) / n
    res["client_cpu_us_per_call"] = (c1 - c0) / n
    return res


def parse_duration_us(s):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", s)
    if not m:
        raise ValueError(f"wrk duration {s!r}")
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6}[m.group(2)]


def wrk(port, connections, seconds, host=None):
    threads = 1 if connections == 1 else 2
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency",
           f"http://127.0.0.1:{port}/"] + (["-H", f"Host: {host}"] if host else [])
    out = run(cmd, timeout=seconds + 30).stdout
    pct = dict(re.findall(r"^\s*(50|75|90|99)%\s+(\S+)\s*$", out, re.M))
    if "50" not in pct or "99" not in pct:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    rps = float(re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M).group(1))
    mx = re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", out, re.M).group(1)
    errors, error_lines = 0, re.findall(r"^\s*(Non-2xx.*|Socket errors.*)$", out, re.M)
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(x) for x in m.groups())
    secs = float(re.search(r"requests in ([\d.]+)(ms|s|m),", out).group(1))
    unit = re.search(r"requests in [\d.]+(ms|s|m),", out).group(1)
    secs *= {"ms": 1e-3, "s": 1, "m": 60}[unit]
    return {"tool": "wrk", "connections": connections, "seconds": secs, "p50_us": parse_duration_us(pct["50"]),
            "p99_us": parse_duration_us(pct["99"]), "max_us": parse_duration_us(mx), "calls_per_s": rps,
            "errors": errors, "error_lines": error_lines, "raw": out}


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler:
    """Samples VmRSS of `pid` every 50 ms while running; VmHWM is read at the end."""

    def __init__(self, pid):
        self.pid = pid
        self.max_rss_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def status(self):
        fields = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "Threads"):
                    fields[k] = int(v.split()[0])
        return fields

    def _loop(self):
        while not self._stop.is_set():
            try:
                self.max_rss_kb = max(self.max_rss_kb, self.status()["VmRSS"])
            except (OSError, KeyError):
                return
            self._stop.wait(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        s = self.status()
        self.max_rss_kb = max(self.max_rss_kb, s["VmRSS"])
        self.hwm_kb = s["VmHWM"]
        self.rss_end_kb = s["VmRSS"]
        self.threads = s["Threads"]
        with os.scandir(f"/proc/{self.pid}/task") as it:
            names = []
            for t in it:
                with open(f"/proc/{self.pid}/task/{t.name}/comm") as f:
                    names.append(f.read().strip())
        # Thread names, digits folded: shows whether Swift's cooperative pool or NIO's loops run the tasks.
        self.thread_names = {}
        for n in names:
            key = re.sub(r"\d+", "#", n)
            self.thread_names[key] = self.thread_names.get(key, 0) + 1


def grpc_load(sock, method, concurrency, calls, seconds, shared_channel):
    cmd = [CLIENT, "--target", f"unix://{sock}", "--method", method, "--upstream", "nginx", "--path", "/",
           "--concurrency", str(concurrency), "--calls", str(calls), "--seconds", str(seconds),
           "--warmup", str(max(200, 10 * concurrency))]
    if shared_channel:
        cmd.append("--shared-channel")
    r = run(cmd, timeout=seconds + 60)
    res = json.loads(r.stdout)
    res["tool"] = "guard-client"
    return res


# --------------------------------------------------------------------------- report


def fmt_us(us):
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs"


def machine_notes():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for name, cmd in (("nginx", ["nginx", "-v"]), ("haproxy", ["haproxy", "-v"]), ("wrk", ["wrk", "-v"])):
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=10)
            versions[name] = r.stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            versions[name] = "?"
    return {"cpu": cpu, "cpus": os.cpu_count(), "kernel": platform.release(),
            "loadavg_start": os.getloadavg(), **versions}


def agent_revision(levee):
    d = os.path.dirname(os.path.abspath(levee))
    r = subprocess.run(["git", "-C", d, "log", "-1", "--format=%h %s"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    return r.stdout.strip() or "?"


def print_report(results, modes, args, notes):
    conc = args.concurrency
    print()
    print(f"Levee guard benchmark  {datetime.datetime.now().isoformat(timespec='seconds')}")
    notes["loadavg_end"] = os.getloadavg()
    print(f"machine: {notes['cpu']}, {notes['cpus']} vCPU, Linux {notes['kernel']}; load average "
          f"{notes['loadavg_start'][0]:.2f} at start, {notes['loadavg_end'][0]:.2f} at end (others share it)")
    print(f"tools:   {notes['nginx']}; {notes['haproxy']}; {notes['wrk']}")
    print(f"agent:   {'bench/guard/standin.py (NOT the agent)' if args.standin else args.levee}"
          f"  [{notes.get('agent_revision', '?')}]")
    print(f"client:  {'one shared channel' if args.shared_channel else 'one channel+connection per worker'}")
    print()
    header = f"| {'path':<34} | {'seq p50':>9} | {'seq p99':>9} | {'seq calls/s':>11} | " \
             f"{f'{conc}-way p50':>10} | {f'{conc}-way p99':>10} | {f'{conc}-way calls/s':>14} | {'errors':>6} |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for key, label in results["rows"]:
        seq, par = results[key]["seq"], results[key]["conc"]
        errs = sum(x.get("errors", 0) if isinstance(x.get("errors"), int) else 0 for x in (seq, par)) \
            + sum(x.get("rpc_errors", 0) + x.get("non_ok", 0) for x in (seq, par))
        print(f"| {label:<34} | {fmt_us(seq['p50_us']):>9} | {fmt_us(seq['p99_us']):>9} | "
              f"{seq['calls_per_s']:>11.0f} | {fmt_us(par['p50_us']):>10} | {fmt_us(par['p99_us']):>10} | "
              f"{par['calls_per_s']:>14.0f} | {errs:>6} |")
    print()
    print(f"CPU per call (µs), server process / load tool, at {conc}-way: " + "; ".join(
        f"{label.split(' ', 1)[1]}: {results[key]['conc']['server_cpu_us_per_call']:.0f} / "
        f"{results[key]['conc']['client_cpu_us_per_call']:.0f}" for key, label in results["rows"]))
    print("  (server = the process in front only: nginx, HAProxy, the agent or the C-core server; nginx's own "
          "share is its row)")
    print()
    for key in [k for k, _ in results["rows"] if k in ("nginx", "haproxy") or k.startswith("proxy/")]:
        for kind in ("seq", "conc"):
            if results[key][kind]["error_lines"]:
                print(f"  wrk errors, {key} {kind}: {'; '.join(results[key][kind]['error_lines'])}")
    all_pass = True
    for mode in modes:
        m = results["modes"][mode]
        ping, call, direct = results[f"ping/{mode}"], results[f"call/{mode}"], results["nginx"]
        added = call["seq"]["p50_us"] - ping["seq"]["p50_us"] - direct["seq"]["p50_us"]
        added_conc = call["conc"]["p50_us"] - ping["conc"]["p50_us"] - direct["conc"]["p50_us"]
        ratio = call["conc"]["calls_per_s"] / ping["conc"]["calls_per_s"] if ping["conc"]["calls_per_s"] else 0
        hwm_mib = m["rss"]["hwm_kb"] / 1024
        idle_mib = m["rss"]["idle_kb"] / 1024
        checks = [
            (f"Levee adds at p50 (seq Call - Ping - nginx) = {added:.0f} µs", "<= 100 µs", added <= 100),
            (f"Call/s / Ping/s at {conc}-way = {call['conc']['calls_per_s']:.0f} / "
             f"{ping['conc']['calls_per_s']:.0f} = {ratio:.0%}", ">= 70 %", ratio >= 0.7),
            (f"agent VmHWM under {conc}-way load = {hwm_mib:.1f} MiB "
             f"(VmRSS max {m['rss']['max_rss_kb'] / 1024:.1f}, end {m['rss']['rss_end_kb'] / 1024:.1f})",
             "<= 64 MiB", hwm_mib <= 64),
            (f"agent VmRSS at rest after start = {idle_mib:.1f} MiB", "<= 30 MiB", idle_mib <= 30),
            (f"non-OK outcomes / RPC errors in Calls = "
             f"{call['seq']['non_ok'] + call['conc']['non_ok']} / "
             f"{call['seq']['rpc_errors'] + call['conc']['rpc_errors']}", "= 0",
             call['seq']['non_ok'] + call['conc']['non_ok'] + call['seq']['rpc_errors']
             + call['conc']['rpc_errors'] == 0),
        ]
        proxied = results.get(f"proxy/{mode}")
        if proxied:
            haproxy = results["haproxy"]
            proxy_added = proxied["seq"]["p50_us"] - direct["seq"]["p50_us"]
            haproxy_added = haproxy["seq"]["p50_us"] - direct["seq"]["p50_us"]
            rps_ratio = proxied["conc"]["calls_per_s"] / haproxy["conc"]["calls_per_s"]
            cpu_ratio = proxied["conc"]["server_cpu_us_per_call"] / haproxy["conc"]["server_cpu_us_per_call"]
            proxy_errors = proxied["seq"]["errors"] + proxied["conc"]["errors"]
            checks += [
                (f"proxy adds over nginx (seq p50) = {proxy_added:.0f} µs; HAProxy adds {haproxy_added:.0f} µs: "
                 f"{proxy_added / haproxy_added if haproxy_added > 0 else float('inf'):.2f} x", "<= 1.5 x",
                 proxy_added <= 1.5 * haproxy_added),
                (f"proxy {conc}-way req/s = {proxied['conc']['calls_per_s']:.0f}; HAProxy "
                 f"{haproxy['conc']['calls_per_s']:.0f}: {rps_ratio:.2f} x", ">= 0.8 x", rps_ratio >= 0.8),
                (f"agent CPU per proxied request = {proxied['conc']['server_cpu_us_per_call']:.0f} µs; HAProxy "
                 f"{haproxy['conc']['server_cpu_us_per_call']:.0f} µs: {cpu_ratio:.2f} x", "<= 2 x", cpu_ratio <= 2),
                (f"proxy errors (non-2xx, socket) = {proxy_errors}", "= 0", proxy_errors == 0),
            ]
        floors = [results[k] for k, _ in results["rows"] if k.startswith("ccore/")]
        if floors:
            c_cpu = min(f["conc"]["server_cpu_us_per_call"] for f in floors)
            c_p50 = min(f["seq"]["p50_us"] for f in floors)
            a_cpu, a_p50 = ping["conc"]["server_cpu_us_per_call"], ping["seq"]["p50_us"]
            checks += [
                (f"agent CPU per Ping at {conc}-way = {a_cpu:.1f} µs; C core {c_cpu:.1f} µs: {a_cpu / c_cpu:.2f} x",
                 "<= 1.5 x", a_cpu <= 1.5 * c_cpu),
                (f"agent Ping seq p50 = {a_p50:.0f} µs; C core {c_p50:.0f} µs: {a_p50 / c_p50:.2f} x", "<= 1.5 x",
                 a_p50 <= 1.5 * c_p50),
            ]
        m["targets"] = {"added_p50_us": added, "added_p50_us_conc": added_conc, "call_ping_ratio": ratio,
                        "hwm_mib": hwm_mib, "idle_mib": idle_mib, "pass": [c[2] for c in checks]}
        print(f"targets, agent {mode}:")
        for text, target, ok in checks:
            all_pass &= ok
            print(f"  {'PASS' if ok else 'FAIL'}  {text}   (target {target})")
        print(f"  (info) the same difference at {conc}-way p50: {added_conc:.0f} µs; agent threads "
              f"{m['threads']}: {m['thread_names']}")
        inside = call["seq"].get("agent_elapsed_p50_us", 0)
        if inside:
            # What the agent reports as its own time for a call (CallResponse.elapsed_us): the policy
            # decisions plus the upstream attempt through AsyncHTTPClient, wake-ups included.
            print(f"  (info) split of the sequential Call: inside the handler (elapsed_us) p50 {inside} µs, "
                  f"of which nginx direct is {direct['seq']['p50_us']:.0f} µs; the rest of the Call, "
                  f"{call['seq']['p50_us'] - inside:.0f} µs, is the gRPC exchange (Ping: "
                  f"{ping['seq']['p50_us']:.0f} µs)")
            m["targets"]["inside_p50_us"] = inside
        for kind in ("seq", "conc"):
            if call[kind]["non_ok"]:
                print(f"  {kind}: non-OK outcomes {call[kind]['non_ok_outcomes']}, first detail: "
                      f"{call[kind]['first_non_ok_detail']!r}")
            if call[kind]["rpc_errors"] or ping[kind]["rpc_errors"]:
                print(f"  {kind}: RPC errors {call[kind]['errors']} {ping[kind]['errors']}")
    print()
    return all_pass


# --------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--levee", default=os.environ.get("LEVEE_BINARY",
                                                      os.path.join(ROOT, ".build", "release", "levee")))
    ap.add_argument("--executor", choices=("both", "off", "on"), default="both",
                    help="agent modes: default, NIO executor takeover (LEVEE_NIO_EXECUTOR=1), or both")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--seq-calls", type=int, default=3000, help="sequential gRPC calls per measurement")
    ap.add_argument("--conc-calls", type=int, default=60000, help="concurrent gRPC calls per measurement (cap)")
    ap.add_argument("--seconds", type=float, default=8, help="time cap per gRPC measurement")
    ap.add_argument("--wrk-seconds", type=int, default=5)
    ap.add_argument("--shared-channel", action="store_true", help="all client workers on one channel")
    ap.add_argument("--standin", action="store_true", help="use bench/guard/standin.py instead of the agent")
    ap.add_argument("--c-core", choices=("on", "off"), default="on",
                    help="measure the C-core Ping server (the floor for the Guard RPC)")
    ap.add_argument("--json", help="also write all results to this file")
    args = ap.parse_args()
    bk.report_steal()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    atexit.register(cleanup)
    started = time.monotonic()

    ensure_tools()
    build_client()
    if not args.standin:
        if not os.access(args.levee, os.X_OK):
            sys.exit(f"no agent binary at {args.levee} (set LEVEE_BINARY or --levee; or --standin)")
        args.levee = os.path.abspath(args.levee)

    if args.standin:
        modes = ["standin"]
    else:
        knows = binary_knows(args.levee, "LEVEE_NIO_EXECUTOR")
        modes = {"off": ["default"], "on": ["executor"], "both": ["default", "executor"]}[args.executor]
        if "executor" in modes and not knows:
            log("the binary does not mention LEVEE_NIO_EXECUTOR: executor takeover not offered, skipped")
            modes = [m for m in modes if m != "executor"] or ["default"]

    notes = machine_notes()
    if not args.standin:
        notes["agent_revision"] = agent_revision(args.levee)

    tmp = tempfile.mkdtemp(prefix="levee-bench-", dir="/tmp")
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    atexit.register(cleanup)  # runs before rmtree (atexit is LIFO)
    results = {"rows": [("nginx", "1 nginx direct (wrk)"), ("haproxy", "2 nginx via HAProxy 2.6 (wrk)")],
               "modes": {}, "notes": notes, "args": vars(args)}

    nginx_port, haproxy_port = free_port(), free_port()
    nginx = start_nginx(tmp, nginx_port)
    haproxy = start_haproxy(tmp, haproxy_port, nginx_port)
    log(f"nginx on 127.0.0.1:{nginx_port}, haproxy on 127.0.0.1:{haproxy_port}, temp dir {tmp}")

    for key, port, pid in (("nginx", nginx_port, nginx.pid), ("haproxy", haproxy_port, haproxy.pid)):
        wrk(port, args.concurrency, 1)  # warm-up
        results[key] = {"seq": measured(wrk, pid, port, 1, args.wrk_seconds),
                        "conc": measured(wrk, pid, port, args.concurrency, args.wrk_seconds)}
        log(f"{key}: seq p50 {results[key]['seq']['p50_us']:.0f} µs, "
            f"{args.concurrency}-way {results[key]['conc']['calls_per_s']:.0f}/s")

    ccore_apis = ["sync", "callback"] if args.c_core == "on" else []
    for api in ccore_apis:
        proc, sock = start_cserver(tmp, api)
        grpc_load(sock, "ping", args.concurrency, 2000, 2, args.shared_channel)  # warm-up
        key = f"ccore/{api}"
        results[key] = {
            "seq": measured(grpc_load, proc.pid, sock, "ping", 1, args.seq_calls, args.seconds, False),
            "conc": measured(grpc_load, proc.pid, sock, "ping", args.concurrency, args.conc_calls, args.seconds,
                             args.shared_channel)}
        results["rows"].append((key, f"6 C-core Ping, {api} API"))
        log(f"C core ({api} API): ping seq p50 {results[key]['seq']['p50_us']} µs, {args.concurrency}-way "
            f"{results[key]['conc']['calls_per_s']:.0f}/s, {results[key]['conc']['server_cpu_us_per_call']:.1f} "
            f"µs CPU per RPC")
        stop(proc)

    has_proxy = not args.standin and binary_knows(args.levee, "listen.proxy_socket")
    if not args.standin and not has_proxy:
        log("the binary has no proxy listener (listen.proxy): the proxy rows are skipped")
    for mode in modes:
        proxy_port = free_port() if has_proxy else None
        proc, sock, _ = start_agent(tmp, args, nginx_port, proxy_port, executor=(mode == "executor"))
        log(f"agent ({mode}) pid {proc.pid} answers on {sock}, proxy on 127.0.0.1:{proxy_port}")
        time.sleep(1)  # a benchmark, not a test: let the start settle before reading the resting RSS
        idle_rss_kb = rss_kb(proc.pid)
        ping, call, proxied = {}, {}, {}
        ping["seq"] = measured(grpc_load, proc.pid, sock, "ping", 1, args.seq_calls, args.seconds, False)
        call["seq"] = measured(grpc_load, proc.pid, sock, "call", 1, args.seq_calls, args.seconds, False)
        if proxy_port:
            wrk(proxy_port, args.concurrency, 1, host="nginx")  # warm-up
            proxied["seq"] = measured(wrk, proc.pid, proxy_port, 1, args.wrk_seconds, "nginx")
        with RssSampler(proc.pid) as rss:
            ping["conc"] = measured(grpc_load, proc.pid, sock, "ping", args.concurrency, args.conc_calls,
                                    args.seconds, args.shared_channel)
            call["conc"] = measured(grpc_load, proc.pid, sock, "call", args.concurrency, args.conc_calls,
                                    args.seconds, args.shared_channel)
            if proxy_port:
                proxied["conc"] = measured(wrk, proc.pid, proxy_port, args.concurrency, args.wrk_seconds, "nginx")
        results[f"ping/{mode}"], results[f"call/{mode}"] = ping, call
        results["modes"][mode] = {"rss": {"hwm_kb": rss.hwm_kb, "max_rss_kb": rss.max_rss_kb,
                                          "rss_end_kb": rss.rss_end_kb, "idle_kb": idle_rss_kb},
                                  "threads": rss.threads, "thread_names": rss.thread_names}
        suffix = "" if mode in ("default", "standin") else ", executor takeover"
        results["rows"] += [(f"ping/{mode}", f"3 agent Ping{suffix}"), (f"call/{mode}", f"4 agent Call{suffix}")]
        if proxied:
            results[f"proxy/{mode}"] = proxied
            results["rows"].append((f"proxy/{mode}", f"5 nginx via Levee proxy (wrk){suffix}"))
        log(f"agent ({mode}): ping seq p50 {ping['seq']['p50_us']} µs, call seq p50 {call['seq']['p50_us']} µs, "
            f"{args.concurrency}-way {ping['conc']['calls_per_s']:.0f} / {call['conc']['calls_per_s']:.0f} calls/s")
        if proc.poll() is not None:
            raise RuntimeError(f"agent ({mode}) exited during the run: {proc.returncode}")
        stop(proc)

    all_pass = print_report(results, modes, args, notes)
    print(f"whole run: {time.monotonic() - started:.0f} s")
    if args.json:
        for key, _ in results["rows"]:
            for kind in ("seq", "conc"):
                results[key][kind].pop("raw", None)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2, default=str)
    return 0 if all_pass else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); cleaning up")
        cleanup()
        sys.exit(130)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        log(f"error: {e}")
        cleanup()
        sys.exit(1)
