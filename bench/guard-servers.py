#!/usr/bin/env python3
"""Guard server candidates (issue 16): an empty levee.v1.Guard/Ping on a Unix socket, served by each
candidate in turn, in alternating rounds, with the same C++ load client (bench/guard/client.cc):

  ccore-sync      a minimal C++ server on gRPC's C core, sync API (bench/guard/cserver.cc): the floor
  ccore-callback  the same, callback API
  swift-ccore     a Swift server on the C core's C API (bench/guard/ccore-swift/, a spike: Ping only),
                  one thread driving one completion queue (`--swift-threads` for more)
  agent-core      `levee agent` with `listen.guard_server: core`: the Guard server on the C core's C API
  agent-grpc-swift  `levee agent` with `listen.guard_server: grpc_swift` (grpc-swift-2 on SwiftNIO)

For each: the sequential p50 (one call at a time) and, 32-way (a channel and connection per worker),
the RPCs per second and the server process's CPU per RPC (user + system, /proc). Then medians with
the range over the rounds, and each candidate's ratio to the better C-core figure (issue 16's target:
<= 1.5 x for both). Everything on loopback in a temporary directory; children in their own sessions.

    bench/guard-servers.py [--levee PATH] [--rounds 3] [--only agent-core,ccore-sync]
"""
import argparse
import atexit
import os
import shutil
import signal
import statistics
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guard  # noqa: E402
from benchkit import cleanup, loadavg, log, machine, on_signal, report_steal, revision, spawn, stop, wait_for  # noqa: E402

CANDIDATES = ("ccore-sync", "ccore-callback", "swift-ccore", "agent-core", "agent-grpc-swift")


def start(name, tmp, args):
    sock = os.path.join(tmp, f"{name}.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    log_path = os.path.join(tmp, f"{name}.log")
    if name.startswith("ccore-"):
        cmd = [guard.CSERVER, "--socket", sock, "--api", name.split("-", 1)[1]]
    elif name == "swift-ccore":
        cmd = [guard.CCORE_SWIFT, "--socket", sock, "--threads", str(args.swift_threads)]
    else:
        config = os.path.join(tmp, "levee.yaml")
        with open(config, "w") as f:
            f.write(f'service: bench\nlisten: {{ socket: {sock}, admin_socket: {tmp}/admin.sock, http: "off", '
                    f'proxy: "off", guard_server: {name.split("-", 1)[1].replace("-", "_")} }}\n')
        cmd = [args.levee, "agent", "--config", config, "--log-level", "warning"]
    proc = spawn(cmd, log_path)

    def answers():
        if not os.path.exists(sock):
            return False
        try:
            return guard.grpc_load(sock, "ping", 1, 1, 5, False)["rpc_errors"] == 0
        except (RuntimeError, ValueError):
            return False

    wait_for(name, answers, 30, interval=0.2, proc=proc)
    return proc, sock


def measure(name, tmp, args):
    proc, sock = start(name, tmp, args)
    try:
        guard.grpc_load(sock, "ping", args.concurrency, 2000, 2, False)  # warm-up
        seq = guard.measured(guard.grpc_load, proc.pid, sock, "ping", 1, args.seq_calls, args.seconds, False)
        conc = guard.measured(guard.grpc_load, proc.pid, sock, "ping", args.concurrency, args.conc_calls,
                              args.seconds, False)
    finally:
        stop(proc)
    errors = seq["rpc_errors"] + conc["rpc_errors"]
    return {"seq_p50": seq["p50_us"], "rps": conc["calls_per_s"], "cpu": conc["server_cpu_us_per_call"],
            "errors": errors}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--levee", default=os.environ.get("LEVEE_BINARY",
                                                      os.path.join(guard.ROOT, ".build", "release", "levee")))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", help="comma-separated candidates (default: all)")
    ap.add_argument("--swift-threads", type=int, default=1, help="threads driving the Swift spike's queue")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--seq-calls", type=int, default=3000)
    ap.add_argument("--conc-calls", type=int, default=60000)
    ap.add_argument("--seconds", type=float, default=8, help="time cap per measurement")
    args = ap.parse_args()
    report_steal()
    names = args.only.split(",") if args.only else list(CANDIDATES)
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown or args.rounds < 1:
        sys.exit(f"unknown candidate {unknown} (of {', '.join(CANDIDATES)})" if unknown else "--rounds >= 1")
    if any(n.startswith("agent-") for n in names):
        if not os.access(args.levee, os.X_OK):
            sys.exit(f"no agent binary at {args.levee} (swift build -c release --product levee, or --levee)")
        args.levee = os.path.abspath(args.levee)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    tmp = tempfile.mkdtemp(prefix="levee-guard-servers-", dir="/tmp")
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    atexit.register(cleanup)
    guard.ensure_tools()
    if not shutil.which("swiftc"):
        sys.exit("swiftc is missing: the Swift spike cannot be built")
    guard.build_client()

    results = {n: [] for n in names}
    for r in range(args.rounds):
        for name in names:
            res = measure(name, tmp, args)
            results[name].append(res)
            log(f"round {r + 1} {name}: seq p50 {res['seq_p50']} µs, {args.concurrency}-way {res['rps']:.0f}/s, "
                f"{res['cpu']:.1f} µs CPU per RPC, {res['errors']} errors")

    def med(name, key):
        return statistics.median(x[key] for x in results[name])

    def fmt(name, key, f):
        xs = [x[key] for x in results[name]]
        return f"{f.format(statistics.median(xs))} ({f.format(min(xs))}–{f.format(max(xs))})"

    floor = [n for n in names if n.startswith("ccore-")]
    print(f"\n## Guard Ping servers, {args.rounds} alternating rounds\n")
    print(f"{machine()}; tree {revision()}; load average at the end {loadavg()}; "
          f"swift-ccore with {args.swift_threads} thread(s)\n")
    header = "| server | seq p50 µs | 32-way RPC/s | server CPU µs per RPC |"
    if floor:
        header += " seq p50 ÷ C core | CPU ÷ C core |"
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for name in names:
        row = (f"| {name} | {fmt(name, 'seq_p50', '{:.0f}')} | {fmt(name, 'rps', '{:.0f}')} | "
               f"{fmt(name, 'cpu', '{:.1f}')} |")
        if floor:
            best_p50 = min(med(n, "seq_p50") for n in floor)
            best_cpu = min(med(n, "cpu") for n in floor)
            row += f" {med(name, 'seq_p50') / best_p50:.2f} × | {med(name, 'cpu') / best_cpu:.2f} × |"
        print(row)
    errors = sum(x["errors"] for n in names for x in results[n])
    print(f"\nRPC errors: {errors}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
