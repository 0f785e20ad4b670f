#!/usr/bin/env python3
"""Adaptive concurrency benchmark: a fixed bulkhead against Gradient2 and AIMD, side by side in one run.

The upstream is a real HTTP/1.1 server this script starts (bench/adaptive/load.c, its own process, compiled
with cc on first use into bench/out/adaptive-load, as is the load generator). Its latency is
BASE (10 ms) while at most KNEE (32) requests are in flight, plus SLOPE (2 ms) for each request in
flight above that, counted when the request arrives: an upstream whose throughput peaks at 32
concurrent requests and falls beyond. The load is closed-loop clients through the agent's plain HTTP
proxy listener (`Host: <variant>`), rising in steps of 16, 32, 64, 128 and 256 clients, STEP seconds
each. Every variant is an upstream of its own agent (started fresh for each run), with the same
bulkhead apart from its limit:

    fixed-N    bulkhead: { max_concurrent: N, max_queue: 0, reserved_critical: 0 }   N = 32, 64, 128, 256
    gradient2  bulkhead: { max_queue: 0, reserved_critical: 0, adaptive: { algorithm: gradient2 } }
    aimd       bulkhead: { max_queue: 0, reserved_critical: 0, adaptive: { algorithm: aimd, timeout: 20ms } }

(adaptive: min 4, max 512, starting from max_concurrent's default 64; AIMD is loss-based, so its
`timeout`, the latency above which an attempt counts as a drop, is set to twice the unloaded latency.)
With --tuned, two more variants in the same rounds, set for this steep upstream (see the README):

    gradient2-tuned  adaptive: { algorithm: gradient2, tolerance: 1.0 }
    aimd-tuned       adaptive: { algorithm: aimd, timeout: 13ms }
`max_queue: 0`: a call that finds no free slot is answered 503 at once (BULKHEAD_FULL); a client that
gets a 503 backs off before its next request, as a client should: 5 ms after the first 503 in a row,
doubling with each further one up to 160 ms (equal jitter: half the wait fixed, half random), and
starting again at 5 ms after a 200. Until 2026-12-03 a client waited a fixed 5 ms after every 503
(`--backoff-max-ms 5` does that again): at 256 clients that was about 45 000 refused requests a second
on the machine's 2 cores, and the harness, not the upstream, set the top steps' latency (even a fixed
limit of 32, the upstream's knee, had a p99 of 36-54 ms there). Until 2026-12-03 the upstream and the
clients were asyncio Python, which took about a core of the two at 256 clients; in C they take a few
per cent. No retries (`max_attempts: 1`).

Each round measures the unloaded latency (1 client, fixed-256) and then every variant once, in an order
that rotates between rounds. On a virtual machine the host may take CPU time from it while it has work
(/proc/stat's steal), which neither the agent nor the harness can make up for: a variant's run during
which more than 5 % was stolen is run again, at most twice (--max-steal, --repeat-stolen), and the
summary lists the steal of every run and the runs repeated. Reported per variant and load step: goodput (200 answers per second),
p50/p99 of the 200 answers as the client saw them, and 503s per second; medians over the rounds, with
the range. Goals (issue 15): at every step, p99 <= 2 x the unloaded p50, and goodput >= 90 % of the best
fixed limit's goodput at that step.

    bench/adaptive.py                       # LEVEE_BINARY or .build/release/levee; 3 rounds, 3 s steps
    bench/adaptive.py --rounds 5 --step 4
    bench/adaptive.py --tuned                   # also gradient2-tuned and aimd-tuned
    bench/adaptive.py --trace aimd --clients 64   # the limit over 5 s, read with levee upstreams --json
    bench/adaptive.py --trace gradient2 --clients 64 --seconds 60   # the limit and the long RTT
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing benchkit
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchkit import cleanup, log, spawn, stop  # noqa: E402
import benchkit as bk  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = [16, 32, 64, 128, 256]
FIXED = [32, 64, 128, 256]


# --------------------------------------------------------------------------- the harness (C)

HARNESS_SOURCE = os.path.join(ROOT, "bench", "adaptive", "load.c")
HARNESS = os.path.join(ROOT, "bench", "out", "adaptive-load")


def build_harness():
    """Compiles bench/adaptive/load.c (the upstream and the clients) unless its binary is newer."""
    if os.path.exists(HARNESS) and os.path.getmtime(HARNESS) >= os.path.getmtime(HARNESS_SOURCE):
        return
    os.makedirs(os.path.dirname(HARNESS), exist_ok=True)
    subprocess.run(["cc", "-O2", "-Wall", "-o", HARNESS, HARNESS_SOURCE], check=True)


def start_upstream(args, tmp):
    port = bk.free_ports(1)[0]
    upstream = spawn([HARNESS, "upstream", str(port), str(round(args.base_ms * 1e3)),
                      str(round(args.slope_ms * 1e3)), str(args.knee)], os.path.join(tmp, "upstream.log"))
    wait_port(port, upstream, "upstream")
    return port


# --------------------------------------------------------------------------- children


def wait_port(port, proc, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout} s")


# The adaptive variants: name -> settings beyond the algorithm (YAML flow-mapping entries; --gradient2,
# --aimd; with --tuned also gradient2-tuned and aimd-tuned, --gradient2-tuned, --aimd-tuned). The
# algorithm is the name up to its first "-".
ADAPTIVE = {"gradient2": "", "aimd": "timeout: 20ms"}
TUNED = {"gradient2-tuned": "tolerance: 1.0", "aimd-tuned": "timeout: 13ms"}


def bulkhead(variant):
    if variant.startswith("fixed-"):
        return f"{{ max_concurrent: {variant[6:]}, max_queue: 0, reserved_critical: 0 }}"
    extra = f", {ADAPTIVE[variant]}" if ADAPTIVE[variant] else ""
    algorithm = variant.split("-")[0]
    return f"{{ max_queue: 0, reserved_critical: 0, adaptive: {{ algorithm: {algorithm}{extra} }} }}"


def start_agent(levee, tmp, upstream_port, variant):
    proxy_port = bk.free_ports(1)[0]
    sock = os.path.join(tmp, "levee.sock")
    for path in (sock, os.path.join(tmp, "admin.sock")):
        if os.path.exists(path):
            os.unlink(path)
    config = os.path.join(tmp, "levee.yaml")
    with open(config, "w") as f:
        f.write(f"""service: bench
listen: {{ socket: {sock}, admin_socket: {tmp}/admin.sock, http: "off", proxy: "127.0.0.1:{proxy_port}" }}
upstreams:
  {variant}:
    endpoints: ["127.0.0.1:{upstream_port}"]
    retry: {{ max_attempts: 1 }}
    bulkhead: {bulkhead(variant)}
""")
    p = spawn([levee, "agent", "--config", config, "--log-level", "warning"], os.path.join(tmp, "agent.log"))
    wait_port(proxy_port, p, "agent")
    return p, proxy_port


# --------------------------------------------------------------------------- the load


BACKOFF = {"base": 0.005, "max": 0.160}  # a client's wait after a 503 (--backoff-base-ms, --backoff-max-ms)


def load(port, host, steps, seconds):
    """Starts the rising closed-loop load: `steps` clients in turn, `seconds` each (see load.c)."""
    return subprocess.Popen([HARNESS, "clients", str(port), host, str(seconds), "0.5",
                             str(round(BACKOFF["base"] * 1e6)), str(round(BACKOFF["max"] * 1e6))]
                            + [str(n) for n in steps], stdout=subprocess.PIPE, text=True)


def ramp(port, host, steps, seconds):
    """Per-step stats (goodput, p50_ms, p99_ms, rejected_per_s, errors) over each step's last
    (seconds - 0.5) s."""
    proc = load(port, host, steps, seconds)
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the load generator exited with {proc.returncode}")
    return [json.loads(line) for line in out.splitlines()]


# --------------------------------------------------------------------------- trace


def trace(args, tmp):
    """The limit of one variant under a steady load, sampled with `levee upstreams --json`."""
    try:
        upstream_port = start_upstream(args, tmp)
        agent, port = start_agent(args.levee, tmp, upstream_port, args.trace)
        readings = []  # (seconds since the start, limit, long RTT in ms)
        # Longer traces are read less often: each reading starts a `levee upstreams` process.
        interval = 0.02 if args.seconds <= 10 else 0.25

        start = time.monotonic()
        proc = load(port, args.trace, [args.clients], args.seconds)
        while proc.poll() is None:
            out = subprocess.run([args.levee, "upstreams", "--json", "--admin-socket", os.path.join(tmp, "admin.sock")],
                                 capture_output=True, text=True).stdout
            if proc.poll() is not None:
                break
            info = json.loads(out)[0]
            adaptive = info.get("adaptive") or {}
            readings.append((time.monotonic() - start, adaptive.get("limit", info["max_concurrent"]),
                             adaptive.get("rtt_long_us", 0) / 1e3))
            time.sleep(interval)
        step = json.loads(proc.stdout.read().splitlines()[0])
        stop(agent)
        limits = [limit for _, limit, _ in readings]
        ordered = sorted(limits)
        print(f"{args.trace} at {args.clients} clients for {args.seconds:g} s: goodput {step['goodput']:.0f}/s, "
              f"p50 {step['p50_ms'] or 0:.1f} ms, p99 {step['p99_ms'] or 0:.1f} ms")
        if args.seconds > 10:
            for start in range(0, int(args.seconds), 10):
                part = [(limit, long_ms) for t, limit, long_ms in readings if start <= t < start + 10]
                if part:
                    print(f"  {start:3d}-{start + 10:3d} s: limit median {statistics.median(l for l, _ in part):.0f} "
                          f"(min {min(l for l, _ in part)}, max {max(l for l, _ in part)}), "
                          f"long RTT {part[-1][1]:.1f} ms at the end")
        print(f"{args.trace} at {args.clients} clients: {len(limits)} readings of the limit over {args.seconds:g} s: "
              f"min {ordered[0]}, p10 {ordered[len(ordered) // 10]}, median {ordered[len(ordered) // 2]}, "
              f"p90 {ordered[9 * len(ordered) // 10]}, max {ordered[-1]}")
        print("readings in order:", " ".join(str(v) for v in limits))
    finally:
        cleanup()


# --------------------------------------------------------------------------- main


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(values, digits=1):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{statistics.median(values):.{digits}f} [{min(values):.{digits}f}-{max(values):.{digits}f}]"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levee", default=os.environ.get("LEVEE_BINARY", os.path.join(ROOT, ".build/release/levee")))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--step", type=float, default=3.0, help="seconds per load step")
    ap.add_argument("--base-ms", type=float, default=10.0)
    ap.add_argument("--slope-ms", type=float, default=2.0)
    ap.add_argument("--knee", type=int, default=32)
    ap.add_argument("--json", help="also write the raw results here")
    ap.add_argument("--trace", help="instead: one variant under --clients clients, its limit sampled every 20 ms")
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=5.0, help="with --trace: how long")
    ap.add_argument("--gradient2", default=ADAPTIVE["gradient2"],
                    help="more settings of the gradient2 variant, e.g. 'tolerance: 1.2' (default: none)")
    ap.add_argument("--aimd", default=ADAPTIVE["aimd"],
                    help="more settings of the aimd variant (default: 'timeout: 20ms')")
    ap.add_argument("--tuned", action="store_true",
                    help="also run gradient2-tuned and aimd-tuned, with the settings below, in the same rounds")
    ap.add_argument("--gradient2-tuned", default=TUNED["gradient2-tuned"],
                    help="with --tuned: gradient2-tuned's settings (default: 'tolerance: 1.0')")
    ap.add_argument("--aimd-tuned", default=TUNED["aimd-tuned"],
                    help="with --tuned: aimd-tuned's settings (default: 'timeout: 13ms')")
    ap.add_argument("--backoff-base-ms", type=float, default=BACKOFF["base"] * 1e3,
                    help="a client's wait after its first 503 in a row (default 5)")
    ap.add_argument("--backoff-max-ms", type=float, default=BACKOFF["max"] * 1e3,
                    help="the most a client waits after 503s in a row, doubling from the base (default 160)")
    ap.add_argument("--max-steal", type=float, default=5.0,
                    help="a variant's run during which the host stole more of this machine's CPU (%%) is run "
                         "again (default 5; /proc/stat's steal)")
    ap.add_argument("--repeat-stolen", type=int, default=2,
                    help="how many times at most a run is repeated for --max-steal (default 2; 0: never)")
    args = ap.parse_args()
    ADAPTIVE.update(gradient2=args.gradient2, aimd=args.aimd)
    if args.tuned or args.trace in TUNED:
        ADAPTIVE.update({"gradient2-tuned": args.gradient2_tuned, "aimd-tuned": args.aimd_tuned})
    BACKOFF.update(base=args.backoff_base_ms / 1e3, max=max(args.backoff_base_ms, args.backoff_max_ms) / 1e3)
    variants = [f"fixed-{n}" for n in FIXED] + list(ADAPTIVE)
    tmp = tempfile.mkdtemp(prefix="levee-bench-adaptive-")
    build_harness()
    if args.trace:
        trace(args, tmp)
        return
    results = {"unloaded": [], "runs": {v: [] for v in variants}, "steal": {}, "repeated": []}
    try:
        upstream_port = start_upstream(args, tmp)
        for round_index in range(args.rounds):
            agent, port = start_agent(args.levee, tmp, upstream_port, "fixed-256")
            unloaded = ramp(port, "fixed-256", [1], args.step)[0]
            stop(agent)
            results["unloaded"].append(unloaded)
            log(f"round {round_index + 1}: unloaded p50 {unloaded['p50_ms']:.2f} ms, p99 {unloaded['p99_ms']:.2f} ms")
            shift = round_index % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                for attempt in range(1 + args.repeat_stolen):
                    agent, port = start_agent(args.levee, tmp, upstream_port, variant)
                    ticks_before = bk.cpu_ticks()
                    steps = ramp(port, variant, STEPS, args.step)
                    ticks_after = bk.cpu_ticks()
                    stop(agent)
                    stolen = bk.stolen_share(ticks_before, ticks_after)
                    if stolen <= args.max_steal / 100 or attempt == args.repeat_stolen:
                        break
                    results["repeated"].append((round_index + 1, variant, stolen))
                    log(f"round {round_index + 1} {variant}: the host stole {100 * stolen:.0f} % of the CPU "
                        f"(more than {args.max_steal:g} %): run again")
                results["runs"][variant].append(steps)
                results["steal"].setdefault(variant, []).append(stolen)
                log(f"round {round_index + 1} {variant}: " + ", ".join(
                    f"{s['clients']}c {s['goodput']:.0f}/s p99 {s['p99_ms'] or 0:.1f} ms" for s in steps)
                    + f"; steal {100 * stolen:.0f} %")
    finally:
        cleanup()

    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)

    unloaded_p50 = med([u["p50_ms"] for u in results["unloaded"]])
    print(f"a client's wait after 503s in a row: {BACKOFF['base'] * 1e3:g} ms doubling to {BACKOFF['max'] * 1e3:g} ms")
    print("adaptive settings: " + ", ".join(f"{name} {{ {extra or 'defaults'} }}" for name, extra in ADAPTIVE.items()))
    print(f"unloaded (1 client, fixed-256): p50 {fmt([u['p50_ms'] for u in results['unloaded']], 2)} ms, "
          f"p99 {fmt([u['p99_ms'] for u in results['unloaded']], 2)} ms; p99 goal <= {2 * unloaded_p50:.1f} ms")
    print(f"rounds {args.rounds}, {args.step:g} s per step; medians [min-max] over the rounds")
    print("CPU time stolen by the host (share of this machine's ticks) per variant, each round: " + "; ".join(
        f"{v} " + " ".join(f"{100 * x:.0f}" for x in results["steal"][v]) for v in variants) + " (%)")
    print(f"runs repeated because the host stole more than {args.max_steal:g} %: " + (", ".join(
        f"round {r} {v} ({100 * x:.0f} %)" for r, v, x in results["repeated"]) or "none") + "\n")
    header = f"{'variant':<15} {'clients':>7} {'goodput/s':>22} {'p50 ms':>22} {'p99 ms':>24} {'503/s':>20}"
    print(header)
    for variant in variants:
        for i, clients in enumerate(STEPS):
            runs = [run[i] for run in results["runs"][variant]]
            print(f"{variant:<15} {clients:>7} {fmt([r['goodput'] for r in runs], 0):>22} "
                  f"{fmt([r['p50_ms'] for r in runs]):>22} {fmt([r['p99_ms'] for r in runs]):>24} "
                  f"{fmt([r['rejected_per_s'] for r in runs], 0):>20}")
    print("\ngoals per step: p99 <= 2 x unloaded p50; goodput >= 0.9 x the best fixed limit's (medians)")
    for variant in ["fixed-256"] + list(ADAPTIVE):
        for i, clients in enumerate(STEPS):
            best_fixed = max(med([run[i]["goodput"] for run in results["runs"][f"fixed-{n}"]]) for n in FIXED)
            goodput = med([run[i]["goodput"] for run in results["runs"][variant]])
            p99 = med([run[i]["p99_ms"] for run in results["runs"][variant]])
            p99_ok = p99 is not None and p99 <= 2 * unloaded_p50
            goodput_ok = goodput >= 0.9 * best_fixed
            print(f"  {variant:<15} {clients:>3} clients: p99 {p99 or 0:7.1f} ms {'met' if p99_ok else 'MISSED':<6} "
                  f"goodput {goodput:6.0f}/s = {goodput / best_fixed:5.2f} x best fixed ({best_fixed:.0f}/s) "
                  f"{'met' if goodput_ok else 'MISSED'}")


if __name__ == "__main__":
    main()
