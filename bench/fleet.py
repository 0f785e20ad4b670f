#!/usr/bin/env python3
"""Fleet containment: 10 agents in one gossip pool, one shared upstream turns sick; failed calls fleet-wide
until every agent's breaker is open, with `share: off` and with `share: follow`.

Per round and mode, on loopback:

  - one shared upstream, a real HTTP server (Python, threaded, keep-alive) that answers 200 until the
    script turns it sick, then 503 to everything (`--sickness 503`, default) or, with `--sickness
    stall`, holds each request 3 s (past the agent's 2 s attempt timeout) and then answers 503;
  - `--agents` (default 10) `levee agent`s, each with its own sockets, /metrics listener, proxy listener
    and gossip port, in one pool (LAN profile; agent 1 is the seed the others join), with
    `share: off` or `share: follow` and `quorum: 1`; the upstream `shared` has the agent's default
    policy (retry max_attempts 3 and the default budget; breaker: count window of 100, min_calls 20,
    failure_rate 50 %, open_for 30s);
  - each agent its own app load: an open loop of GET /work through its proxy listener (`Host:
    shared`) at its rate (`--rate` for all, or `--rates` one per agent), at most 16 in flight per agent.

Timeline: the agents start and the script waits until every agent sees all members alive (`levee
members --json`); the loads run `--healthy` s against the healthy upstream (so each breaker's window is
full of successes), then the upstream turns sick, and the loads go on until every breaker is open or
`--seconds` have passed. Each agent's breaker opening is timestamped as its log line (`breaker closed ->
open`, JSON logs on a pipe read by a thread per agent) reaches the script; at the end the script checks
each agent's `levee_breaker_open` gauge.

Measured per round: failed calls fleet-wide, i.e. calls the apps got back with `x-levee-outcome`
`upstream_failure`, `timeout` or `connect_failure` (calls that reached the sick upstream and failed;
calls the open breaker refused at once, `circuit_open`, are counted apart); the requests the sick
upstream received (attempts, retries included); and the time from the first agent's open to the last's.
Modes alternate within each round; every round starts fresh processes.

    python3 bench/fleet.py                              # .build/release/levee
    python3 bench/fleet.py --levee /tmp/levee --rounds 5 --rate 20
    python3 bench/fleet.py --rates 40,20,10,10,5,5,2,2,1,1
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing benchkit
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchkit as bk  # noqa: E402

FAILED = {"upstream_failure", "timeout", "connect_failure"}


class StopLoad(Exception):
    """Ends an agent's load early, once every breaker is open."""


# --------------------------------------------------------------------------- the shared upstream


def serve_upstream(args):
    lock = threading.Lock()
    state = {"sick": False, "healthy_requests": 0, "sick_requests": 0}

    def handle(path):
        if path == "/__stats":
            with lock:
                return 200, bk.json_body(state)
        if path == "/__sick":
            with lock:
                state["sick"] = True
            return 200, b"sick\n"
        with lock:
            sick = state["sick"]
            state["sick_requests" if sick else "healthy_requests"] += 1
        if not sick:
            return 200, b"ok\n"
        if args.sickness == "stall":
            time.sleep(3.0)
        return 503, b"sick\n"

    bk.serve(args.port, handle)


# --------------------------------------------------------------------------- agents


class Agent:
    def __init__(self, index, tmp, ports, gossip_port):
        self.index = index
        self.name = f"agent-{index + 1}"
        self.tmp = tmp
        self.http, self.proxy = ports
        self.gossip_port = gossip_port
        self.admin = os.path.join(tmp, f"{self.name}-admin.sock")
        self.opens = []  # (monotonic time the line was read, cause)
        self.tail = []
        self.lock = threading.Lock()
        self.proc = None

    def config(self, upstream_port, seed_port, share):
        join = f'\n  join: ["127.0.0.1:{seed_port}"]' if seed_port != self.gossip_port else ""
        return f"""service: app
listen:
  socket: {self.tmp}/{self.name}.sock
  admin_socket: {self.admin}
  http: "127.0.0.1:{self.http}"
  proxy: "127.0.0.1:{self.proxy}"
upstreams:
  shared:
    endpoints: ["127.0.0.1:{upstream_port}"]
gossip:
  name: {self.name}
  bind: 127.0.0.1:{self.gossip_port}{join}
  profile: lan
  share: {share}
  quorum: 1
"""

    def start(self, levee, upstream_port, seed_port, share):
        cfg = os.path.join(self.tmp, f"{self.name}.yaml")
        bk.write_agent_config(cfg, self.config(upstream_port, seed_port, share))
        self.proc, _ = bk.start_agent(levee, cfg, self.tmp, self.name, pipe=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            t = time.monotonic()
            with self.lock:
                self.tail = (self.tail + [line.rstrip()])[-20:]
            if '"breaker' not in line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            msg = ev.get("message", "").lower()  # "breaker CLOSED -> OPEN"
            if msg.startswith("breaker ") and msg.endswith("-> open"):
                with self.lock:
                    self.opens.append((t, ev.get("metadata", {}).get("cause", "?")))

    def first_open_after(self, t0):
        with self.lock:
            for t, cause in self.opens:
                if t >= t0:
                    return t, cause
        return None, None

    def members_alive(self, levee):
        r = subprocess.run([levee, "members", "--admin-socket", self.admin, "--json"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True, timeout=10)
        if r.returncode != 0:
            return 0
        try:
            data = json.loads(r.stdout)
        except ValueError:
            return 0
        members = data.get("members", data) if isinstance(data, dict) else data
        return sum(1 for m in members if m.get("status") == "alive")


# --------------------------------------------------------------------------- one round of one mode


def run_round(args, share, round_no, work):
    tmp = tempfile.mkdtemp(prefix=f"{share}-{round_no}-", dir=work)
    n = args.agents
    # One call, so that no gossip port is also an HTTP or proxy port ("Address already in use").
    chosen = bk.free_udp_tcp_ports(1 + 3 * n)
    ports, gossip_ports = chosen[:1 + 2 * n], chosen[1 + 2 * n:]
    upstream_port = ports[0]
    agents = [Agent(i, tmp, (ports[1 + 2 * i], ports[2 + 2 * i]), gossip_ports[i]) for i in range(n)]
    procs = []
    try:
        up = bk.spawn([sys.executable, os.path.abspath(__file__), "--serve", "--port", str(upstream_port),
                       "--sickness", args.sickness], os.path.join(tmp, "upstream.log"))
        procs.append(up)
        bk.wait_for("upstream", lambda: bk.http_get(upstream_port, "/__stats", timeout=0.5) is not None, 10, proc=up)
        t_spawn = time.monotonic()
        for a in agents:
            a.start(args.levee, upstream_port, gossip_ports[0], share)
            procs.append(a.proc)
        for a in agents:
            try:
                bk.wait_ready(a.proc, a.name, a.http)
            except RuntimeError:
                bk.log(f"{a.name} output:\n  " + "\n  ".join(a.tail))
                raise
        bk.wait_for("every agent sees all members alive",
                    lambda: all(a.members_alive(args.levee) == n for a in agents), 30, interval=0.3)
        t_pool = time.monotonic() - t_spawn

        loads = [bk.OpenLoopLoad(a.proxy, "shared", args.rates[a.index], workers=16, path="/work", timeout=10)
                 for a in agents]
        stop_at = {"t": None}
        t_sick = {"t": None}
        total = args.healthy + args.seconds

        def drive(load):
            # run() sends rate*total requests; stop early once every breaker is open (plus a margin)
            def tick(now):
                if stop_at["t"] is not None and now >= stop_at["t"]:
                    raise StopLoad

            try:
                load.run(total, on_tick=tick)
            except StopLoad:
                for _ in load.workers:
                    load.q.put(None)
                for w in load.workers:
                    w.join(timeout=15)

        threads = [threading.Thread(target=drive, args=(ld,), daemon=True) for ld in loads]
        for t in threads:
            t.start()
        time.sleep(args.healthy)
        t_sick["t"] = time.monotonic()
        r = bk.http_get(upstream_port, "/__sick")
        if r is None or r[0] != 200:
            raise RuntimeError("could not turn the upstream sick")
        deadline = t_sick["t"] + args.seconds
        while time.monotonic() < deadline:
            if all(a.first_open_after(t_sick["t"])[0] is not None for a in agents):
                break
            time.sleep(0.02)
        stop_at["t"] = time.monotonic() + 0.5  # calls already on their way finish; new ones stop
        for t in threads:
            t.join(timeout=30)

        res = {"share": share, "round": round_no, "pool_ready_s": t_pool, "rates": args.rates}
        opens = [a.first_open_after(t_sick["t"]) for a in agents]
        res["open_after_sick"] = [None if t is None else t - t_sick["t"] for t, _ in opens]
        res["open_cause"] = [c for _, c in opens]
        got = [t for t, _ in opens if t is not None]
        res["all_open"] = len(got) == n
        res["first_to_last"] = (max(got) - min(got)) if res["all_open"] else None
        t_all = max(got) if res["all_open"] else None
        failed, failed_after_all, rejected, per_agent, sent = 0, 0, 0, [], 0
        for a, ld in zip(agents, loads):
            f = 0
            for due, done, status, outcome in ld.results:
                if outcome in FAILED:
                    f += 1
                    if t_all is not None and done > t_all:
                        failed_after_all += 1
                elif outcome == "circuit_open":
                    rejected += 1
            sent += len(ld.results)
            per_agent.append(f)
            failed += f
        res["failed"], res["failed_per_agent"] = failed, per_agent
        res["failed_after_all_open"] = failed_after_all
        res["rejected"], res["sent"] = rejected, sent
        res["dropped"] = sum(ld.dropped for ld in loads)
        st = json.loads(bk.http_get(upstream_port, "/__stats")[2])
        res["sick_requests"] = st["sick_requests"]
        res["breaker_open_gauge"] = [bk.metric_sum(bk.metrics(a.http), "levee_breaker_open") for a in agents]
        bk.log(f"{share:>6} round {round_no}: failed calls {failed} (per agent {per_agent}), sick upstream got "
               f"{res['sick_requests']}, all open: {res['all_open']}, first->last "
               + (f"{res['first_to_last']:.3f} s" if res["first_to_last"] is not None else "-")
               + f", opens after sick {[None if x is None else round(x, 3) for x in res['open_after_sick']]}"
               + f", causes {res['open_cause']}")
        return res
    finally:
        bk.stop_all(procs)


# --------------------------------------------------------------------------- report


def report(args, results, wall, load_before, load_after):
    by = {m: [r for r in results if r["share"] == m] for m in args.modes}
    rows = []
    for m, rs in by.items():
        if not rs:
            continue
        never = sum(1 for r in rs if not r["all_open"])
        rows.append(
            f"| `share: {m}` | **{bk.med_range([r['failed'] for r in rs], '{:.0f}')}** | "
            f"{bk.med_range([r['sick_requests'] for r in rs], '{:.0f}')} | "
            f"**{bk.med_range([r['first_to_last'] for r in rs], '{:.3f}')} s**"
            + (f" ({never} of {len(rs)} rounds: not every breaker opened in {args.seconds:g} s)" if never else "")
            + f" | {bk.med_range([statistics.median([x for x in r['open_after_sick'] if x is not None] or [0]) for r in rs], '{:.3f}')} s"
            + f" | {bk.med_range([r['rejected'] for r in rs], '{:.0f}')} |")
    table = "\n".join([
        "| mode | failed calls fleet-wide until every breaker is open | requests the sick upstream got | "
        "first agent's open to the last's | median agent's open after the upstream turned sick | "
        "calls refused by an open breaker (till the load stopped) |",
        "|---|---|---|---|---|---|"] + rows)
    ratio = ""
    if by.get("off") and by.get("follow"):
        off = statistics.median([r["failed"] for r in by["off"]])
        fol = statistics.median([r["failed"] for r in by["follow"]])
        pairs = {}
        for r in results:
            pairs.setdefault(r["round"], {})[r["share"]] = r["failed"]
        per_round = [p["off"] / p["follow"] for p in pairs.values() if "off" in p and p.get("follow")]
        ratio = (f"\nMedian failed calls, off ÷ follow: **{off / fol:.2f} ×** "
                 f"(per round: {', '.join(f'{x:.2f}' for x in per_round)}).\n" if fol else "")
    detail = []
    for r in results:
        detail.append(
            f"- {r['share']} round {r['round']}: failed per agent {r['failed_per_agent']} (after the last open: "
            f"{r['failed_after_all_open']}); opens after sick (s) "
            f"{[None if x is None else round(x, 3) for x in r['open_after_sick']]}; causes {r['open_cause']}; "
            f"sent {r['sent']} (dropped {r['dropped']}); pool ready {r['pool_ready_s']:.1f} s after spawn; "
            f"levee_breaker_open at the end {[int(x) for x in r['breaker_open_gauge']]}")
    head = (f"Measured {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on "
            f"{bk.machine()}; scripts at {bk.revision()}, agent {bk.binary(args.levee)}; {args.agents} agents, app load per agent "
            f"(req/s) {args.rates}; {args.healthy:g} s healthy, then sick ({args.sickness}); {args.rounds} rounds, "
            f"modes alternating; wall time {wall:.0f} s; load average before {load_before}, after {load_after}. "
            f"Medians over the rounds, (min–max).")
    cmd = "python3 bench/fleet.py " + " ".join(sys.argv[1:])
    return f"```sh\n{cmd.strip()}\n```\n\n{head}\n\n{table}\n{ratio}\n" + "\n".join(detail) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--levee", default=os.environ.get("LEVEE_BINARY", os.path.join(bk.ROOT, ".build/release/levee")))
    ap.add_argument("--agents", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=float, default=20, help="app requests/s per agent")
    ap.add_argument("--rates", help="one rate per agent, comma-separated (instead of --rate)")
    ap.add_argument("--healthy", type=float, default=6, help="seconds of load before the upstream turns sick")
    ap.add_argument("--seconds", type=float, default=20, help="longest wait for every breaker to open")
    ap.add_argument("--sickness", choices=["503", "stall"], default="503")
    ap.add_argument("--modes", default="off,follow")
    ap.add_argument("--out", default=os.path.join(bk.ROOT, "bench", "out"))
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    bk.report_steal()
    if args.serve:
        serve_upstream(args)
        return
    args.modes = args.modes.split(",")
    for m in args.modes:
        if m not in ("off", "advisory", "follow"):
            sys.exit(f"--modes: unknown share mode {m!r} (expected off, advisory or follow)")
    if args.rates:
        args.rates = [float(x) for x in args.rates.split(",")]
        if len(args.rates) != args.agents:
            sys.exit(f"--rates: {len(args.rates)} rates for {args.agents} agents")
    else:
        args.rates = [args.rate] * args.agents
    if not os.path.exists(args.levee):
        sys.exit(f"{args.levee} missing: swift build -c release --product levee, or pass --levee PATH")
    bk.alternate_rounds(args, "fleet", run_round, report)


if __name__ == "__main__":
    main()
