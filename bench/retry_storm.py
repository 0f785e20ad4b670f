#!/usr/bin/env python3
"""Retry storms: the load a failing tier receives per request at the top, with retry budgets and without.

Three tiers, A calls B calls C, each call through its own `levee agent` on loopback (each agent with
its own sockets, /metrics listener and plain HTTP proxy listener):

    load --> agent "to-a" --> A --> agent "to-b" --> B --> agent "to-c" --> C

  - C is a real HTTP server (Python, threaded, keep-alive) that fails `--fail-rate` of its calls
    (default 0.5), each call independently at random (seeded); a failure is HTTP 500 or 503, chosen at
    random with equal odds.
  - A and B are small real HTTP servers (Python) that, for each request, GET the next tier through
    their own agent's proxy listener (`Host: b` / `Host: c`) and answer 200 if that answer was 2xx,
    else 500.
  - The load is an open loop at `--rate` GET/s for `--seconds` through agent "to-a"'s proxy listener
    (bounded: at most `--workers` in flight, a request that finds no free worker for 1 s is dropped
    and counted).

Every agent's one upstream has `retry: { max_attempts: 4 }`: 3 retries, the first attempt included
(DESIGN.md: gRPC A6 convention), on the default `on:` list (connect-failure, reset, timeout, 5xx) with
the default backoff (full jitter, base 25 ms, max 1 s); GET is idempotent, so 5xx answers are retried.
The breaker is configured so it is never hit (`window: { kind: count, size: 100000 }, min_calls:
100000`: it cannot trip before an agent has recorded 100 000 attempts) and the script checks, from each
agent's /metrics, that no breaker left CLOSED and nothing was rejected; `--breaker default` leaves the
agent's default breaker instead (count window 100, min_calls 20, failure_rate 50 %, open_for 30s) and
reports what it rejected. Retry budget modes (`--modes`):

  - `off`: budgets disabled in effect: `budget: { ratio: 1000, min_per_second: 1000000 }`, the
    largest values the agent accepts (a reserve of 10 million retries).
  - `default`: no `budget` key, the agent's default budget: ratio 0.2, min_per_second 10, ttl 10s
    (Finagle's defaults: retries may add 20 % of the original requests over the last 10 s, plus a
    floor of 10 retries a second).
  - `ratio-only` (not run unless asked): `budget: { ratio: 0.2, min_per_second: 0 }`, the default
    ratio without the floor.
  - `default+pushback`, `off+pushback`, `ratio-only+pushback`: the same budgets, and A and B pass the word up: when their
    call to the next tier failed with `x-levee-retry-pushback-ms` on the answer (the agent adds `-1`
    when it retried the failure as far as its policy allows, or its budget refused a retry), their
    own 500 carries the header on, and the agent above does not retry it (gRFC A6 pushback, for
    HTTP). Retries then happen at one tier, the lowest.

Each round starts fresh servers and agents for each mode, modes alternating within the round, so
nothing (budget balance, connections) carries from one to the next. Measured per round: requests sent
to A's agent, requests A, B and C received (their own counters), answers the load got (200 or not,
and the agent's `x-levee-outcome`), and each agent's retries decided and denied (`levee_retries_total`,
`levee_retries_denied_total`). The figure is C's requests ÷ requests sent.

    python3 bench/retry_storm.py                                  # .build/release/levee
    python3 bench/retry_storm.py --levee /tmp/levee --rounds 3 --seconds 20 --rate 100
"""

import argparse
import datetime
import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing benchkit
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchkit as bk  # noqa: E402

BUDGET_OFF = "budget: { ratio: 1000, min_per_second: 1000000 }"
# mode: (the retry budget line, whether A and B pass x-levee-retry-pushback-ms up)
MODES = {
    "off": (BUDGET_OFF, False),
    "default": (None, False),
    "ratio-only": ("budget: { ratio: 0.2, min_per_second: 0 }", False),
    "off+pushback": (BUDGET_OFF, True),
    "ratio-only+pushback": ("budget: { ratio: 0.2, min_per_second: 0 }", True),
    "default+pushback": (None, True),
}
PUSHBACK = "x-levee-retry-pushback-ms"


# --------------------------------------------------------------------------- the tiers (child processes)


def serve_tier(args):
    lock = threading.Lock()
    counts = {"requests": 0, "ok": 0, "failed": 0}
    rng = random.Random(args.seed)
    local = threading.local()

    def call_next():
        """(whether the next tier answered 2xx, its x-levee-retry-pushback-ms or None)"""
        for attempt in range(2):
            conn = getattr(local, "conn", None)
            try:
                if conn is None:
                    conn = local.conn = http.client.HTTPConnection("127.0.0.1", args.next_port, timeout=30)
                conn.request("GET", "/work", headers={"Host": args.next_host})
                r = conn.getresponse()
                r.read()
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
                    local.conn = None
                return 200 <= r.status < 300, r.getheader(PUSHBACK)
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                local.conn = None
        return False, None

    def handle(path):
        if path == "/__stats":
            with lock:
                return 200, bk.json_body(counts)
        headers = {}
        if args.role == "c":
            with lock:
                fail = rng.random() < args.fail_rate
                status = rng.choice((500, 503)) if fail else 200
        else:
            ok, pushback = call_next()
            status = 200 if ok else 500
            if not ok and pushback is not None and args.propagate:
                headers[PUSHBACK] = pushback
        with lock:
            counts["requests"] += 1
            counts["ok" if status == 200 else "failed"] += 1
        return status, b"ok\n" if status == 200 else b"failed\n", headers

    bk.serve(args.port, handle)


def stats(port):
    r = bk.http_get(port, "/__stats", timeout=2)
    if r is None or r[0] != 200:
        raise RuntimeError(f"tier on port {port}: no stats")
    return json.loads(r[2])


# --------------------------------------------------------------------------- one round of one mode


BREAKER_OFF = "{ window: { kind: count, size: 100000 }, min_calls: 100000 }"


def agent_config(tmp, name, ports, upstream, endpoint_port, budget, breaker):
    retry = "{ max_attempts: 4" + (f", {budget}" if budget else "") + " }"
    breaker_line = f"\n    breaker: {BREAKER_OFF}" if breaker == "off" else ""
    return f"""service: {name}
listen:
  socket: {tmp}/{name}.sock
  admin_socket: {tmp}/{name}-admin.sock
  http: "127.0.0.1:{ports['http']}"
  proxy: "127.0.0.1:{ports['proxy']}"
upstreams:
  {upstream}:
    endpoints: ["127.0.0.1:{endpoint_port}"]
    retry: {retry}{breaker_line}
    bulkhead: {{ max_concurrent: 256, max_queue: 256 }}
"""


def run_round(args, mode, round_no, work):
    tmp = tempfile.mkdtemp(prefix=f"{mode}-{round_no}-", dir=work)
    p = bk.free_ports(9)
    tiers = {"a": p[0], "b": p[1], "c": p[2]}
    agents = {"to-a": {"http": p[3], "proxy": p[4]}, "to-b": {"http": p[5], "proxy": p[6]},
              "to-c": {"http": p[7], "proxy": p[8]}}
    procs = []
    try:
        me = os.path.abspath(__file__)
        seed = args.seed * 1000 + round_no
        procs.append(bk.spawn([sys.executable, me, "--serve", "c", "--port", str(tiers["c"]), "--fail-rate",
                               str(args.fail_rate), "--seed", str(seed)], os.path.join(tmp, "c.log")))
        budget, propagate = MODES[mode]
        relay = ["--propagate"] if propagate else []
        procs.append(bk.spawn([sys.executable, me, "--serve", "relay", "--port", str(tiers["b"]), "--next-port",
                               str(agents["to-c"]["proxy"]), "--next-host", "c"] + relay, os.path.join(tmp, "b.log")))
        procs.append(bk.spawn([sys.executable, me, "--serve", "relay", "--port", str(tiers["a"]), "--next-port",
                               str(agents["to-b"]["proxy"]), "--next-host", "b"] + relay, os.path.join(tmp, "a.log")))
        started = []
        for name, upstream in (("to-c", "c"), ("to-b", "b"), ("to-a", "a")):
            cfg = os.path.join(tmp, f"{name}.yaml")
            bk.write_agent_config(cfg, agent_config(tmp, name, agents[name], upstream, tiers[upstream],
                                                    budget, args.breaker))
            proc, log_path = bk.start_agent(args.levee, cfg, tmp, name)
            procs.append(proc)
            started.append((proc, name, log_path))
        for proc, name, log_path in started:
            bk.wait_ready(proc, name, agents[name]["http"], log_path)
        for t, port in tiers.items():
            bk.wait_for(f"tier {t}", lambda port=port: bk.http_get(port, "/__stats", timeout=0.5) is not None, 10)

        load = bk.OpenLoopLoad(agents["to-a"]["proxy"], "a", args.rate, workers=args.workers, path="/work",
                               timeout=30)
        t0 = time.monotonic()
        load.run(args.seconds)
        wall = time.monotonic() - t0
        res = {"mode": mode, "round": round_no, "wall": wall, "dropped": load.dropped}
        res["sent"] = len(load.results)
        res["ok"] = sum(1 for r in load.results if r[2] == 200)
        outcomes = {}
        for r in load.results:
            outcomes[r[3]] = outcomes.get(r[3], 0) + 1
        res["outcomes"] = outcomes
        for t, port in tiers.items():
            res[t] = stats(port)["requests"]
        res["agents"] = {}
        for name, ports in agents.items():
            m = bk.metrics(ports["http"])
            res["agents"][name] = {
                "attempts": bk.metric_sum(m, "levee_attempts_total"),
                "retries": bk.metric_sum(m, "levee_retries_total"),
                "denied": bk.metric_sum(m, "levee_retries_denied_total"),
                "rejections": bk.metric_sum(m, "levee_rejections_total"),
                "breaker_state": bk.metric_sum(m, "levee_breaker_state"),
            }
        for name, a in res["agents"].items():
            if args.breaker == "off" and (a["rejections"] or a["breaker_state"]):
                raise RuntimeError(f"{mode} round {round_no}: agent {name}'s breaker or bulkhead acted: {a}")
        res["c_per_request"] = res["c"] / res["sent"] if res["sent"] else None
        res["b_per_request"] = res["b"] / res["sent"] if res["sent"] else None
        res["a_per_request"] = res["a"] / res["sent"] if res["sent"] else None
        res["success"] = res["ok"] / res["sent"] if res["sent"] else None
        bk.log(f"{mode:>10} round {round_no}: sent {res['sent']} (dropped {res['dropped']}), A {res['a']}, "
               f"B {res['b']}, C {res['c']}: C/request {res['c_per_request']:.3f}, success "
               f"{100 * res['success']:.2f} %; retries decided/denied, rejections "
               + ", ".join(f"{n} {a['retries']:.0f}/{a['denied']:.0f}, {a['rejections']:.0f}"
                           for n, a in res["agents"].items()))
        return res
    finally:
        bk.stop_all(procs)


# --------------------------------------------------------------------------- report


def report(args, results, wall, load_before, load_after):
    rows = []
    for mode in args.modes:
        rs = [r for r in results if r["mode"] == mode]
        if not rs:
            continue

        def per(key, agent=None):
            if agent:
                return [r["agents"][agent][key] / r["sent"] for r in rs]
            return [r[key] for r in rs]

        budget = {"off": "off (ratio 1000, min_per_second 1000000)",
                  "default": "default (ratio 0.2, min_per_second 10, ttl 10s)",
                  "ratio-only": "ratio 0.2, min_per_second 0"}[mode.split("+")[0]]
        if mode.endswith("+pushback"):
            budget += ", apps pass the pushback up"
        rows.append(
            f"| {budget} | **{bk.med_range(per('c_per_request'), '{:.3f}')}** | "
            f"{bk.med_range(per('b_per_request'), '{:.3f}')} | {bk.med_range(per('a_per_request'), '{:.3f}')} | "
            f"{bk.med_range([100 * x for x in per('success')], '{:.2f}')} % | "
            f"{bk.med_range(per('retries', 'to-c'), '{:.3f}')} / {bk.med_range(per('denied', 'to-c'), '{:.3f}')} | "
            f"{bk.med_range(per('retries', 'to-b'), '{:.3f}')} / {bk.med_range(per('denied', 'to-b'), '{:.3f}')} | "
            f"{bk.med_range(per('retries', 'to-a'), '{:.3f}')} / {bk.med_range(per('denied', 'to-a'), '{:.3f}')} |")
    table = "\n".join([
        "| retry budget | C's requests per request to A | B's | A's | success at A (200s) | "
        "retries / denied per request, agent to C | to B | to A |",
        "|---|---|---|---|---|---|---|---|"] + rows)
    detail = []
    for r in results:
        detail.append(f"- {r['mode']} round {r['round']}: sent {r['sent']} in {r['wall']:.1f} s (dropped "
                      f"{r['dropped']}), A {r['a']}, B {r['b']}, C {r['c']}, 200s {r['ok']}, rejections by "
                      f"agent {json.dumps({n: a['rejections'] for n, a in r['agents'].items()})}, outcomes "
                      f"{json.dumps(r['outcomes'], sort_keys=True)}")
    head = (f"Measured {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on "
            f"{bk.machine()}; scripts at {bk.revision()}, agent {bk.binary(args.levee)}; C fails {args.fail_rate:.0%} of its calls; "
            f"breakers {args.breaker}; {args.rate:g} requests/s to A for {args.seconds:g} s per round, {args.rounds} rounds, modes "
            f"alternating; wall time {wall:.0f} s; load average before {load_before}, after {load_after}. "
            f"Medians over the rounds, (min–max).")
    cmd = "python3 bench/retry_storm.py " + " ".join(sys.argv[1:])
    return f"```sh\n{cmd.strip()}\n```\n\n{head}\n\n{table}\n\n" + "\n".join(detail) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--levee", default=os.environ.get("LEVEE_BINARY", os.path.join(bk.ROOT, ".build/release/levee")))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=20, help="load per mode per round")
    ap.add_argument("--rate", type=float, default=100, help="requests/s sent to A's agent")
    ap.add_argument("--workers", type=int, default=64, help="most requests in flight at A's agent")
    ap.add_argument("--fail-rate", type=float, default=0.5, help="share of C's calls that fail")
    ap.add_argument("--modes", default="off,default,default+pushback",
                    help="off, default, ratio-only, and each with +pushback (comma-separated)")
    ap.add_argument("--breaker", choices=["off", "default"], default="off",
                    help="off: a threshold no run reaches (checked); default: the agent's default breaker")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--out", default=os.path.join(bk.ROOT, "bench", "out"))
    # internal: run one tier server
    ap.add_argument("--serve", choices=["c", "relay"], help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--next-port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--next-host", help=argparse.SUPPRESS)
    ap.add_argument("--propagate", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    bk.report_steal()
    if args.serve:
        args.role = args.serve
        serve_tier(args)
        return
    args.modes = args.modes.split(",")
    for m in args.modes:
        if m not in MODES:
            sys.exit(f"--modes: unknown mode {m!r} (expected one of {', '.join(MODES)})")
    if not os.path.exists(args.levee):
        sys.exit(f"{args.levee} missing: swift build -c release --product levee, or pass --levee PATH")
    bk.alternate_rounds(args, "retry-storm", run_round, report)


if __name__ == "__main__":
    main()
