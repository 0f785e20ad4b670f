#!/usr/bin/env python3
"""The gossip pool in a harsh network: 10 Levee agents beside 10 `serf agent`s, encryption on.

Network namespaces made here (netkit.py: a bridge namespace and one namespace per member, veth pairs,
10.77.42.0/24 inside them only). Member namespace i runs one real `levee agent` (a `gossip:` section
with bind/advertise on its own address, `encrypt_key` from `levee keygen`, `share: follow`, and one
upstream `shared` pointing at a closed port of its own loopback) and one `serf agent -encrypt KEY` (its
own pool, another port). Both pools get every fault at the same moment; faults are iptables rules in a
chain of their own, on eth0 only (loopback, hence the admin sockets, serf's RPC and the upstream, are
spared). One run measures, for both kinds:

 1. converge  -- member 1 starts alone, the others join it; the time until every member has seen all
                 the others alive.
 2. loss      -- `-m statistic --mode random --probability 0.1 -j DROP` on inbound UDP **and** TCP in
                 every member namespace for --loss-minutes; counts `failed` events (false: nobody died)
                 from the rules' insertion until every member sees all alive again after their removal;
                 suspicions (Levee: `levee_gossip_suspicions_total` summed over agents; serf: its
                 `Suspect X has failed` log lines).
 3. freezes   -- --freezes times, member (k mod N) is SIGSTOPped for --freeze-seconds (the Levee agent
                 and the serf agent of that namespace together), then SIGCONTed; after each, the run
                 waits until every member sees all alive again. Counts `failed` events about the frozen
                 member (false failures) and the time to all-alive after SIGCONT. Reported, not judged:
                 with Lifeguard the suspicion timeout at N=10 is at least 4 s on the LAN profile
                 (4 x log10(10) x 1 s probe interval), so a 3 s freeze should give no `failed` event.
 4. partition -- members 1..N/2 | N/2+1..N: every packet between the halves dropped for
                 --partition-seconds. 2 s in, changes the other side cannot see: Levee agent 1 makes 2
                 failing calls (its breaker opens on its own evidence: a `levee-health` report, repeated
                 while open, and its `health` tag turns `critical`; with `share: follow` its side's
                 agents open on its word) and agent N/2+1's breaker is forced open (`levee breaker open`:
                 its `health` tag turns `critical`, no report); serf agent 1 sends a `levee-health` user
                 event and sets `health=critical`, serf agent N/2+1 sets `health=critical`
                 (`serf tags -set`). Measures when each side has seen every member of the other `failed`;
                 then heals (flushes the rules) and measures the time until every member sees all N
                 alive, until every member sees every other's tags as that member publishes them
                 (`levee members --json` / `serf members -format=json`), and until the report arrived
                 (Levee: every agent's `shared` breaker open by `peers` per `levee upstreams --json`,
                 agent 1's `local`, agent N/2+1's `forced_open`; serf: the other side's agents logged
                 the user event).

Events are the lines the members print, timed on arrival (time.monotonic): the Levee agent's JSON log
(`gossip member X joined|failed|left|updated`, at --log-level info), serf's debug log (`EventMemberJoin`,
`EventMemberFailed`, `EventMemberUpdate`, `Suspect X has failed`, `Received event: user-event: …`).
Every member's output is kept in the run's folder under --out.

Exit status 0 only when Levee meets the targets: no false `failed` under loss and all alive after it;
during the partition both sides saw the other failed; after the heal all N alive everywhere, tags and
the health report current, within --heal-limit seconds. Serf's figures are for comparison.

Python 3 stdlib only; run as root (namespaces, iptables). Every child is killed and every namespace
(hence every rule) deleted on exit, Ctrl-C and errors included.

    sudo LEVEE_BINARY=.build/release/levee bench/pool-faults.py [--agents 10] [--loss-minutes 10]
        [--freezes 10] [--freeze-seconds 3] [--partition-seconds 60] [--heal-limit 30] [--skip-serf]
        [--json FILE] [--quick]
"""

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchkit  # noqa: E402  (machine, revision, binary)
from netkit import Children, Namespaces, log, run  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERF = shutil.which("serf") or "/usr/bin/serf"
NS_PREFIX = "lvpool-"
SUBNET = "10.77.42."
LEVEE_PORT, SERF_PORT, SERF_RPC, HTTP_PORT = 7946, 8946, "127.0.0.1:7373", 9901
UPSTREAM = "shared"
SETTLE = 5.0  # seconds after a fault ends before its `failed` events are counted

CHILDREN = Children()
NETNS = None
_cleaned = False


def levee_binary():
    env = os.environ.get("LEVEE_BINARY")
    if env:
        return os.path.abspath(env)
    for kind in ("release", "debug"):
        path = os.path.join(ROOT, ".build", kind, "levee")
        if os.path.exists(path):
            return path
    sys.exit("no levee binary: set LEVEE_BINARY or build .build/release/levee")


LEVEE = None  # set in main()


# --------------------------------------------------------------------------- members


LEVEE_RE = re.compile(r"^gossip member (\S+) (joined|failed|left|is leaving|reaped|updated)$")
LEVEE_EVENTS = {"joined": "member-joined", "failed": "member-failed", "left": "member-left",
                "is leaving": "member-leaving", "reaped": "member-reaped", "updated": "member-updated"}
SERF_RE = [
    (re.compile(r"serf: EventMemberJoin: (\S+)"), "member-joined"),
    (re.compile(r"serf: EventMemberFailed: (\S+)"), "member-failed"),
    (re.compile(r"serf: EventMemberLeave: (\S+)"), "member-left"),
    (re.compile(r"serf: EventMemberUpdate: (\S+)"), "member-updated"),
    (re.compile(r"serf: EventMemberReap: (\S+)"), "member-reaped"),
    (re.compile(r"memberlist: Suspect (\S+) has failed"), "suspect"),
    (re.compile(r"Received event: user-event: (\S+)"), "user-event"),
]


class Member:
    """One pool member (a Levee agent or a serf agent) in its namespace; a thread reads its output,
    keeps the events, and copies every line to NAME.log in the run's folder."""

    def __init__(self, kind, index, name, ns, address, cmd, logdir):
        self.kind, self.index, self.name, self.ns, self.address = kind, index, name, ns, address
        self.events = []  # (monotonic time, event, member name)
        self.tail = []
        self.lock = threading.Lock()
        self.log = open(os.path.join(logdir, f"{name}.log"), "w", buffering=1)  # line-buffered: readable during the run
        self.proc = CHILDREN.add(subprocess.Popen(
            ["ip", "netns", "exec", ns, *cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True))
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            now = time.monotonic()
            text = raw.decode("utf-8", "replace").rstrip()
            self.log.write(f"{now:.3f} {text}\n")
            self.tail = (self.tail + [text])[-10:]
            ev = self._parse(text)
            if ev is not None:
                with self.lock:
                    self.events.append((now, *ev))
        self.log.flush()

    def _parse(self, text):
        if self.kind == "levee":
            if not text.startswith("{"):
                return None
            try:
                m = LEVEE_RE.match(json.loads(text).get("message", ""))
            except ValueError:
                return None
            return (LEVEE_EVENTS[m.group(2)], m.group(1)) if m else None
        for rx, ev in SERF_RE:
            m = rx.search(text)
            if m:
                return ev, m.group(1)
        return None

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def signal(self, sig):
        os.kill(self.proc.pid, sig)  # `ip netns exec` execs the member: the pid is the member's

    def alive_or_raise(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; last output:\n  "
                               + "\n  ".join(self.tail))


def apply(state, ev, who):
    if ev in ("member-joined", "member-updated"):
        if ev == "member-joined" or who not in state:
            state[who] = "alive"
    elif ev == "member-failed":
        state[who] = "failed"
    elif ev == "member-left":
        state[who] = "left"
    elif ev == "member-leaving":
        state[who] = "leaving"
    elif ev == "member-reaped":
        state.pop(who, None)


def first_time(member, pred, t_from):
    """The first monotonic time >= t_from at which pred(view) held for `member`'s view of the pool
    (built from its membership events), else None."""
    state = {}
    checked = False
    for t, ev, who in member.snapshot():
        if t > t_from and not checked:
            checked = True
            if pred(state):
                return t_from
        apply(state, ev, who)
        if t > t_from and pred(state):
            return t
    if not checked and pred(state):
        return t_from
    return None


def sees_all(others, status):
    return lambda view: all(view.get(o) == status for o in others)


def wait_views(members, pred_of, t_from, timeout, check=None):
    """Per member, the first time >= t_from at which pred_of(member)(view) held, waiting up to
    `timeout` s; None for those it never held for. `check()` runs on every poll (deaths)."""
    deadline = t_from + timeout
    while True:
        times = [first_time(m, pred_of(m), t_from) for m in members]
        if all(t is not None for t in times) or time.monotonic() >= deadline:
            return times
        if check:
            check()
        time.sleep(0.2)


def last_all_alive(member, others, t0, t1):
    """The last time in [t0, t1] at which `member`'s view went from not all alive to all alive
    (t0 when it never stopped seeing every other member alive)."""
    state, was, last = {}, None, t0
    for t, ev, who in member.snapshot():
        if t > t1:
            break
        apply(state, ev, who)
        now_ok = all(state.get(o) == "alive" for o in others)
        if t >= t0 and now_ok and was is False:
            last = t
        was = now_ok
    return last


def count(members, ev, t0, t1, about=None):
    return sum(1 for m in members for t, e, who in m.snapshot()
               if e == ev and t0 <= t <= t1 and (about is None or who == about))


# --------------------------------------------------------------------------- Levee agents


def levee_config(i, n, key, sockdir):
    name = f"lv{i + 1}"
    addr = NETNS.address(i)
    join = "" if i == 0 else f'\n  join: ["{NETNS.address(0)}:{LEVEE_PORT}"]'
    return name, f"""service: pool
listen:
  socket: {sockdir}/levee.sock
  admin_socket: {sockdir}/admin.sock
  http: 127.0.0.1:{HTTP_PORT}
  proxy: "off"
upstreams:
  {UPSTREAM}:
    endpoints: ["127.0.0.1:1"]        # closed: every call is a connect failure
    retry: {{ max_attempts: 1 }}
    breaker: {{ window: {{ kind: count, size: 4 }}, min_calls: 2, failure_rate: 50, open_for: 10m, open_for_max: 10m }}
gossip:
  name: {name}
  bind: {addr}:{LEVEE_PORT}
  advertise: {addr}:{LEVEE_PORT}{join}
  encrypt_key: "{key}"
  profile: lan
  service_address: {addr}:8080
  share: follow
  quorum: 1
  health_ttl: 30s
"""


def start_levee(i, n, key, work):
    sockdir = os.path.join(work, f"lv{i + 1}")
    os.makedirs(sockdir, exist_ok=True)
    name, text = levee_config(i, n, key, sockdir)
    path = os.path.join(sockdir, "levee.yaml")
    with open(path, "w") as f:
        f.write(text)
    v = run([LEVEE, "validate", path], check=False)
    if v.returncode != 0:
        raise RuntimeError(f"{path}: {v.stdout.strip()} {v.stderr.strip()}")
    m = Member("levee", i, name, NETNS.names[i], NETNS.address(i),
               [LEVEE, "agent", "--config", path, "--log-level", "info", "--log-format", "json"], work)
    m.admin = os.path.join(sockdir, "admin.sock")
    m.guard = os.path.join(sockdir, "levee.sock")
    return m


def levee_cli(m, *args):
    r = subprocess.run([LEVEE, *args, "--admin-socket", m.admin, "--socket", m.guard],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=15)
    return r


def levee_json(m, *args):
    r = levee_cli(m, *args, "--json")
    if r.returncode != 0:
        return None
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


def levee_members(m):
    """{name: (status, tags, local)} as agent m sees the pool, or None."""
    js = levee_json(m, "members")
    if js is None:
        return None
    return {x["name"]: (x["status"], x.get("tags", {}), x.get("local", False)) for x in js}


def levee_breaker(m):
    js = levee_json(m, "upstreams")
    for u in js or []:
        if u["name"] == UPSTREAM:
            return u["breaker"], u["breaker_source"]
    return None


def levee_metric_sum(m, name):
    r = NETNS.exec(m.ns, "curl", "-s", "--max-time", "5", f"http://127.0.0.1:{HTTP_PORT}/metrics",
                   check=False)
    total = 0.0
    for line in r.stdout.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def levee_suspicions(members):
    return {k: sum(levee_metric_sum(m, f"levee_gossip_{k}_total") for m in members)
            for k in ("suspicions", "refutations")}


def wait_levee_ready(m, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m.alive_or_raise()
        if os.path.exists(m.admin) and levee_members(m) is not None:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{m.name}: admin socket not answering after {timeout} s")


# --------------------------------------------------------------------------- serf agents


def start_serf(i, key, work):
    name = f"sf{i + 1}"
    cmd = [SERF, "agent", f"-node={name}", f"-bind={NETNS.address(i)}:{SERF_PORT}",
           f"-advertise={NETNS.address(i)}:{SERF_PORT}", f"-rpc-addr={SERF_RPC}", f"-encrypt={key}",
           "-log-level=debug", "-profile=lan", "-tag", "svc=pool", "-tag", "health=passing"]
    if i > 0:
        cmd.append(f"-join={NETNS.address(0)}:{SERF_PORT}")
    return Member("serf", i, name, NETNS.names[i], NETNS.address(i), cmd, work)


def serf_cli(m, *args):
    # Go's flag package stops at the first argument: the flags before `name payload`.
    return NETNS.exec(m.ns, SERF, args[0], f"-rpc-addr={SERF_RPC}", *args[1:], check=False)


def serf_members(m):
    r = serf_cli(m, "members", "-format=json")
    if r.returncode != 0:
        return None
    try:
        return {x["name"]: (x["status"], x.get("tags", {}), x["name"] == m.name)
                for x in json.loads(r.stdout)["members"]}
    except (ValueError, KeyError):
        return None


def wait_serf_ready(m, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m.alive_or_raise()
        if serf_members(m) is not None:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{m.name}: RPC not answering after {timeout} s")


# --------------------------------------------------------------------------- checks over a pool


def list_members(m):
    return levee_members(m) if m.kind == "levee" else serf_members(m)


def tags_current(pool):
    """(ok, stale) where stale lists 'viewer: member tag=seen (published)' for every member whose tags
    as another member sees them differ from the tags it publishes itself; also all alive."""
    views = {m.name: list_members(m) for m in pool}
    own = {}
    for m in pool:
        v = views[m.name]
        if v is None or m.name not in v:
            return False, [f"{m.name}: no answer"]
        own[m.name] = v[m.name][1]
    stale = []
    for m in pool:
        for other in pool:
            if other is m:
                continue
            seen = views[m.name].get(other.name)
            if seen is None or seen[0] != "alive":
                stale.append(f"{m.name}: {other.name} {seen[0] if seen else 'absent'}")
            elif seen[1] != own[other.name]:
                diff = {k: v for k, v in own[other.name].items() if seen[1].get(k) != v}
                stale.append(f"{m.name}: {other.name} tags {seen[1]} (publishes {diff})")
    return not stale, stale


def levee_reports_current(pool, reporter, forced):
    """Every Levee agent's `shared` breaker: the reporter's open (local), the forced one forced_open,
    every other one open on its peers' word (the report arrived and its sender is alive)."""
    bad = []
    for m in pool:
        b = levee_breaker(m)
        want = ("open", "local") if m is reporter else (
            ("forced_open", None) if m is forced else ("open", "peers"))
        if b is None or b[0] != want[0] or (want[1] and b[1] != want[1]):
            bad.append(f"{m.name}: {b}")
    return not bad, bad


def serf_reports_current(pool, side, t_from):
    """The serf agents of `side` (the reporter's other side) logged the user event since t_from."""
    bad = [m.name for m in side if count([m], "user-event", t_from, float("inf"), "levee-health") == 0]
    return not bad, bad


# --------------------------------------------------------------------------- phases


class Run:
    def __init__(self, args, key, work):
        self.args, self.key, self.work = args, key, work
        self.n = args.agents
        self.kinds = ["levee"] + ([] if args.skip_serf else ["serf"])
        self.pools = {}
        self.res = {k: {} for k in self.kinds}
        self.loads = []
        self.events = []  # the harness's own timeline: (monotonic, text)

    def mark(self, text):
        self.events.append((time.monotonic(), text))
        log(text)

    def all_members(self):
        return [m for k in self.kinds for m in self.pools[k]]

    def check(self):
        for m in self.all_members():
            m.alive_or_raise()

    def sleep(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.check()
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))

    def others(self, m):
        return {x.name for x in self.pools[m.kind]} - {m.name}

    def wait_all_alive(self, kind, t_from, timeout):
        pool = self.pools[kind]
        return wait_views(pool, lambda m: sees_all(self.others(m), "alive"), t_from, timeout, self.check)

    # ----------------------------------------------------------------------- 1. converge

    def converge(self):
        self.mark(f"starting {self.n} Levee agents" + ("" if "serf" not in self.kinds else f" and {self.n} serf agents"))
        lv0 = start_levee(0, self.n, self.key, self.work)
        wait_levee_ready(lv0)
        pools = {"levee": [lv0]}
        if "serf" in self.kinds:
            sf0 = start_serf(0, self.key, self.work)
            wait_serf_ready(sf0)
            pools["serf"] = [sf0]
        t0 = time.monotonic()
        for i in range(1, self.n):
            pools["levee"].append(start_levee(i, self.n, self.key, self.work))
            if "serf" in self.kinds:
                pools["serf"].append(start_serf(i, self.key, self.work))
        self.pools = pools
        for m in pools["levee"]:
            wait_levee_ready(m)
        for m in pools.get("serf", []):
            wait_serf_ready(m)
        for kind in self.kinds:
            times = self.wait_all_alive(kind, t0, 90)
            ok, stale = tags_current(self.pools[kind])
            self.res[kind]["converge"] = {
                "seconds": [None if t is None else t - t0 for t in times], "list_all_alive": ok,
                "stale": stale[:10]}
            if kind == "levee":
                self.res[kind]["converge"]["dropped_datagrams"] = sum(
                    levee_metric_sum(m, "levee_gossip_dropped_total") for m in self.pools[kind])
            self.mark(f"{kind}: converged {fmt_max(self.res[kind]['converge']['seconds'])}; "
                      f"listings all alive with tags: {ok}")
            if any(t is None for t in times):
                raise RuntimeError(f"{kind}: the pool did not converge in 90 s")

    # ----------------------------------------------------------------------- 2. loss

    def loss(self):
        seconds = self.args.loss_minutes * 60
        self.sleep(3)
        before = levee_suspicions(self.pools["levee"])
        t0 = time.monotonic()
        NETNS.add_loss(self.args.loss)
        self.mark(f"loss: {self.args.loss:.0%} random inbound drop on UDP and TCP in every namespace "
                  f"for {seconds:.0f} s")
        self.sleep(seconds)
        dropped = NETNS.dropped()
        NETNS.heal()
        t1 = time.monotonic()
        self.mark(f"loss: rules removed; dropped {dropped}")
        # A `failed` decided just before the removal may arrive just after it: settle first.
        self.sleep(SETTLE)
        for kind in self.kinds:
            pool = self.pools[kind]
            t_check = time.monotonic()
            times = self.wait_all_alive(kind, t_check, 60)
            t_end = max([t for t in times if t is not None] + [t_check])
            r = {"seconds": t1 - t0, "dropped": dropped,
                 "false_failed": count(pool, "member-failed", t0, t_end),
                 "left": count(pool, "member-left", t0, t_end),
                 "all_alive_after": None if any(t is None for t in times) else max(0.0, max(
                     [last_all_alive(m, self.others(m), t0, t_end) for m in pool]) - t1),
                 "members_all_alive": sum(1 for t in times if t is not None)}
            r["failed_members"] = sorted({who for m in pool for t, e, who in m.snapshot()
                                          if e == "member-failed" and t0 <= t <= t_end})
            if kind == "serf":
                r["suspicions"] = count(pool, "suspect", t0, t1)
            else:
                after = levee_suspicions(pool)
                r["counters_before"], r["counters_after"] = before, after
                r["suspicions"] = after["suspicions"] - before["suspicions"]
                r["refutations"] = after["refutations"] - before["refutations"]
            self.res[kind]["loss"] = r
            self.mark(f"loss: {kind}: false failed {r['false_failed']} {r['failed_members']}, "
                      f"suspicions {r['suspicions']}, all alive {r['members_all_alive']}/{self.n}")

    # ----------------------------------------------------------------------- 3. freezes

    def freezes(self):
        per = {k: [] for k in self.kinds}
        before = levee_suspicions(self.pools["levee"])
        t_phase = time.monotonic()
        for k in range(self.args.freezes):
            i = k % self.n
            victims = [self.pools[kind][i] for kind in self.kinds]
            self.sleep(2)
            t_stop = time.monotonic()
            for v in victims:
                v.signal(signal.SIGSTOP)
            time.sleep(self.args.freeze_seconds)
            for v in victims:
                v.signal(signal.SIGCONT)
            t_cont = time.monotonic()
            self.sleep(SETTLE)  # a `failed` decided just before SIGCONT may arrive just after it
            for kind, v in zip(self.kinds, victims):
                pool = self.pools[kind]
                t_check = time.monotonic()
                times = self.wait_all_alive(kind, t_check, 60)
                done = max([t for t in times if t is not None] + [t_check])
                per[kind].append({
                    "member": v.name, "stopped": t_cont - t_stop,
                    "false_failed": count(pool, "member-failed", t_stop, done, about=v.name),
                    "failed_other": count(pool, "member-failed", t_stop, done) - count(
                        pool, "member-failed", t_stop, done, about=v.name),
                    "suspicions": count(pool, "suspect", t_stop, done, about=v.name) if kind == "serf" else None,
                    "recovered": None if any(t is None for t in times) else max(0.0, max(
                        [last_all_alive(m, self.others(m), t_stop, done) for m in pool]) - t_cont)})
            self.mark(f"freeze {k + 1}/{self.args.freezes} (member {i + 1}, {t_cont - t_stop:.1f} s): " + "; ".join(
                f"{kind} failed {per[kind][-1]['false_failed']}, all alive "
                f"{fmt(per[kind][-1]['recovered'])} after SIGCONT" for kind in self.kinds))
        after = levee_suspicions(self.pools["levee"])
        for kind in self.kinds:
            self.res[kind]["freezes"] = {"each": per[kind], "seconds": time.monotonic() - t_phase}
        self.res["levee"]["freezes"]["counters_before"], self.res["levee"]["freezes"]["counters_after"] = before, after
        self.res["levee"]["freezes"]["suspicions"] = after["suspicions"] - before["suspicions"]
        self.res["levee"]["freezes"]["refutations"] = after["refutations"] - before["refutations"]

    # ----------------------------------------------------------------------- 4. partition

    def partition(self):
        n, half = self.n, self.n // 2
        side_a, side_b = list(range(half)), list(range(half, n))
        self.sleep(3)
        t0 = time.monotonic()
        NETNS.add_partition(side_a, side_b)
        self.mark(f"partition: members 1..{half} | {half + 1}..{n} for {self.args.partition_seconds} s")
        self.sleep(2)
        lv = self.pools["levee"]
        reporter, forced = lv[side_a[0]], lv[side_b[0]]
        for _ in range(2):
            levee_cli(reporter, "call", UPSTREAM, "/", "--timeout", "500")
        r = levee_cli(forced, "breaker", "open", UPSTREAM)
        if r.returncode != 0:
            raise RuntimeError(f"levee breaker open on {forced.name}: {r.stderr.strip()}")
        self.mark(f"partition: {reporter.name} breaker {levee_breaker(reporter)}, "
                  f"{forced.name} breaker {levee_breaker(forced)}")
        if "serf" in self.kinds:
            sf = self.pools["serf"]
            s_reporter, s_forced = sf[side_a[0]], sf[side_b[0]]
            serf_cli(s_reporter, "event", "levee-health", f"v1 breaker {s_reporter.name} {UPSTREAM} open")
            for m in (s_reporter, s_forced):
                serf_cli(m, "tags", "-set", "health=critical")
        t_change = time.monotonic()
        # When each side has seen every member of the other side failed.
        saw = {}
        for kind in self.kinds:
            pool = self.pools[kind]
            a = {pool[i].name for i in side_a}
            b = {pool[i].name for i in side_b}
            times = wait_views(pool, lambda m, a=a, b=b: sees_all(b if m.name in a else a, "failed"), t0,
                               self.args.partition_seconds, self.check)
            saw[kind] = times
        self.sleep(max(0.0, self.args.partition_seconds - (time.monotonic() - t0)))
        # Before the heal: the other side must not have the news yet (else the check says nothing).
        pre = {"levee": {m.name: levee_breaker(m) for m in lv}}
        if "serf" in self.kinds:
            pre["serf"] = {m.name: list_members(m) for m in self.pools["serf"]}
        NETNS.heal()
        t_heal = time.monotonic()
        self.mark(f"partition: healed after {t_heal - t0:.1f} s")
        wait = max(self.args.heal_limit * 3, 90)
        polled = {k: {"tags": None, "reports": None} for k in self.kinds}
        last = {k: {"tags": [], "reports": []} for k in self.kinds}
        alive_times = {}
        while time.monotonic() - t_heal < wait:
            self.check()
            now = time.monotonic()
            for kind in self.kinds:
                pool = self.pools[kind]
                if polled[kind]["tags"] is None:
                    ok, stale = tags_current(pool)
                    last[kind]["tags"] = stale
                    if ok:
                        polled[kind]["tags"] = now - t_heal
                if polled[kind]["reports"] is None:
                    if kind == "levee":
                        ok, bad = levee_reports_current(pool, reporter, forced)
                    else:
                        ok, bad = serf_reports_current(pool, [pool[i] for i in side_b], t_change)
                    last[kind]["reports"] = bad
                    if ok:
                        polled[kind]["reports"] = now - t_heal
            alive_times = {kind: [first_time(m, sees_all(self.others(m), "alive"), t_heal) for m in self.pools[kind]]
                           for kind in self.kinds}
            if all(polled[k]["tags"] is not None and polled[k]["reports"] is not None
                   and all(t is not None for t in alive_times[k]) for k in self.kinds):
                break
            time.sleep(max(0.0, 1.0 - (time.monotonic() - now)))
        for kind in self.kinds:
            pool = self.pools[kind]
            names = [m.name for m in pool]
            a_names = {names[i] for i in side_a}
            st = saw[kind]
            at = alive_times[kind]
            r = {
                "seconds": t_heal - t0,
                "a_saw_b_failed": [None if t is None else t - t0 for m, t in zip(pool, st) if m.name in a_names],
                "b_saw_a_failed": [None if t is None else t - t0 for m, t in zip(pool, st) if m.name not in a_names],
                "all_alive_after_heal": [None if t is None else t - t_heal for t in at],
                "tags_current_after_heal": polled[kind]["tags"],
                "reports_current_after_heal": polled[kind]["reports"],
                "stale_at_end": last[kind]["tags"][:10], "reports_missing_at_end": last[kind]["reports"][:10],
                "waited": wait,
            }
            if kind == "levee":
                r["breakers_before_heal"] = pre["levee"]
                r["b_side_open_before_heal"] = [nm for nm, b in pre["levee"].items()
                                                if nm not in a_names and nm != forced.name and b and b[0] == "open"]
            else:
                r["b_side_event_before_heal"] = [m.name for m in pool if m.name not in a_names
                                                 and count([m], "user-event", t_change, t_heal, "levee-health")]
            self.res[kind]["partition"] = r
            self.mark(f"partition: {kind}: A saw B failed {fmt_max(r['a_saw_b_failed'])}, B saw A failed "
                      f"{fmt_max(r['b_saw_a_failed'])}; all alive {fmt_max(r['all_alive_after_heal'])} after the heal; "
                      f"tags current {fmt(r['tags_current_after_heal'])}, reports {fmt(r['reports_current_after_heal'])}")

    # ----------------------------------------------------------------------- verdict

    def verdict(self):
        lv = self.res["levee"]
        lim = self.args.heal_limit
        checks = []
        if "loss" in lv:
            checks.append(("no false failed under loss", lv["loss"]["false_failed"] == 0))
            checks.append(("all alive after the loss", lv["loss"]["members_all_alive"] == self.n))
        if "partition" in lv:
            p = lv["partition"]
            checks.append(("both sides saw the other failed",
                           all(t is not None for t in p["a_saw_b_failed"] + p["b_saw_a_failed"])))
            checks.append((f"all alive within {lim} s of the heal",
                           all(t is not None and t <= lim for t in p["all_alive_after_heal"])))
            checks.append((f"tags current within {lim} s", p["tags_current_after_heal"] is not None
                           and p["tags_current_after_heal"] <= lim))
            checks.append((f"health reports current within {lim} s", p["reports_current_after_heal"] is not None
                           and p["reports_current_after_heal"] <= lim))
            checks.append(("the report had not crossed before the heal", not p["b_side_open_before_heal"]))
        return checks


# --------------------------------------------------------------------------- report


def fmt(x, unit=" s"):
    return "–" if x is None else f"{x:.1f}{unit}"


def fmt_max(xs):
    vals = [x for x in xs if x is not None]
    if not vals:
        return "never"
    s = f"{max(vals):.1f} s"
    if len(vals) < len(xs):
        s += f" ({len(xs) - len(vals)} of {len(xs)} never)"
    return s


def fmt_med_max(xs):
    vals = [x for x in xs if x is not None]
    if not vals:
        return "never"
    s = f"{statistics.median(vals):.1f} / {max(vals):.1f} s"
    if len(vals) < len(xs):
        s += f" ({len(xs) - len(vals)} of {len(xs)} never)"
    return s


def report(args, run_, checks, wall, binary, loads):
    res, n = run_.res, args.agents
    L, S = res["levee"], res.get("serf", {})
    rows = []

    def row(phase, what, key, target, f):
        lv = f(L[key]) if key in L else "–"
        sv = f(S[key]) if key in S else ("not run" if args.skip_serf else "–")
        rows.append(f"| {phase} | {what} | {lv} | {sv} | {target} |")

    row("converge", f"every member sees all {n} alive (slowest member)", "converge",
        "–", lambda d: fmt_max(d["seconds"]))
    if "loss" in L:
        sec = L["loss"]["seconds"]
        row("loss", f"false `failed` events, {args.loss:.0%} inbound UDP+TCP loss for {sec / 60:.1f} min", "loss",
            "0", lambda d: f"{d['false_failed']}" + (f" ({', '.join(d['failed_members'])})" if d["failed_members"] else ""))
        row("loss", "suspicions (Levee: `levee_gossip_suspicions_total` summed over agents, i.e. each agent that "
            "entered one counts it; serf: `Suspect X has failed`, logged only by the prober)",
            "loss", "–", lambda d: f"{d['suspicions']:.0f}" + (f" (refutations {d['refutations']:.0f})" if "refutations" in d else ""))
        row("loss", "members seeing all alive after the rules' removal (time)", "loss", f"{n} of {n}",
            lambda d: f"{d['members_all_alive']} of {n} ({fmt(d['all_alive_after'])})")
    if "freezes" in L:
        fz = args.freeze_seconds
        row("freezes", f"`failed` events about the frozen member, {args.freezes} × SIGSTOP {fz:g} s", "freezes",
            "0 expected (Lifeguard: suspicion ≥ 4 s at N=10)",
            lambda d: f"{sum(e['false_failed'] for e in d['each'])} "
                      f"(in {sum(1 for e in d['each'] if e['false_failed'])} of {len(d['each'])} freezes)")
        row("freezes", "`failed` events about other members during the freezes", "freezes", "0",
            lambda d: str(sum(e["failed_other"] for e in d["each"])))
        row("freezes", "suspicions during the freezes", "freezes", "–",
            lambda d: (f"{d['suspicions']:.0f} (refutations {d['refutations']:.0f})" if "suspicions" in d
                       else str(sum(e["suspicions"] or 0 for e in d["each"]))))
        row("freezes", "time after SIGCONT until every member sees all alive again (median / max; 0: none ever "
            "stopped seeing it alive)", "freezes", "–",
            lambda d: fmt_med_max([e["recovered"] for e in d["each"]]))
    if "partition" in L:
        ps = args.partition_seconds
        row("partition", f"halves of {n // 2} and {n - n // 2} cut for {ps:g} s: side A sees all of B `failed` (slowest)", "partition",
            f"< {ps:g} s", lambda d: fmt_max(d["a_saw_b_failed"]))
        row("partition", "side B sees all of A `failed` (slowest)", "partition", f"< {ps:g} s",
            lambda d: fmt_max(d["b_saw_a_failed"]))
        row("partition", f"after the heal: every member sees all {n} alive (slowest)", "partition",
            f"≤ {args.heal_limit:g} s", lambda d: fmt_max(d["all_alive_after_heal"]) + (
                "" if all(t is not None for t in d["all_alive_after_heal"]) else f" (waited {d['waited']:g} s)"))
        row("partition", "after the heal: every member sees every other's current tags", "partition",
            f"≤ {args.heal_limit:g} s", lambda d: fmt(d["tags_current_after_heal"]) if d["tags_current_after_heal"]
            is not None else f"not within {d['waited']:g} s")
        row("partition", "after the heal: the health report made during the partition is current on the other side",
            "partition", f"≤ {args.heal_limit:g} s",
            lambda d: fmt(d["reports_current_after_heal"]) if d["reports_current_after_heal"] is not None
            else f"not within {d['waited']:g} s")
    table = "\n".join(["| phase | measure | Levee agent | serf agent | target |", "|---|---|---|---|---|"] + rows)
    verdict = "\n".join(f"- {'PASS' if ok else 'FAIL'}: {what}" for what, ok in checks)
    detail = []
    c = L.get("converge", {})
    if c:
        detail.append("- Levee convergence per member: " + ", ".join(fmt(t, "") for t in c["seconds"])
                      + f" s; inbound datagrams the agents dropped by then (`levee_gossip_dropped_total`, "
                      f"malformed, oversized or backpressure): {c.get('dropped_datagrams', 0):.0f}")
    if "loss" in L:
        d = L["loss"]["dropped"]
        detail.append(f"- packets dropped by the loss rules (both pools together): UDP {d.get('17', d.get('udp', 0))}, "
                      f"TCP {d.get('6', d.get('tcp', 0))}")
    if "freezes" in L:
        for kind, d in (("Levee", L), ("serf", S)):
            if "freezes" in d:
                detail.append(f"- {kind} freezes: " + ", ".join(
                    f"{e['member']} {e['false_failed']}/{fmt(e['recovered'])}" for e in d["freezes"]["each"])
                    + " (`failed` events about it / all alive after SIGCONT)")
    if "partition" in L:
        p = L["partition"]
        detail.append("- Levee before the heal, `shared` breaker per agent: " + ", ".join(
            f"{k} {v[0] + '/' + v[1] if v else '?'}" for k, v in p["breakers_before_heal"].items()))
        for kind, d in (("Levee", L), ("serf", S)):
            if "partition" in d:
                q = d["partition"]
                detail.append(f"- {kind} all alive after the heal, per member: "
                              + ", ".join(fmt(t, "") for t in q["all_alive_after_heal"]) + " s")
                if q["stale_at_end"] or q["reports_missing_at_end"]:
                    detail.append(f"- {kind} still stale at the end: {q['stale_at_end'] + q['reports_missing_at_end']}")
    lv = [float(x[1]) for x in loads]
    head = (f"Measured {datetime.date.today().isoformat()} on {benchkit.machine()}; script at {benchkit.revision()}, "
            f"Levee binary {binary}; serf {run([SERF, 'version'], check=False).stdout.splitlines()[0]}; "
            f"wall time {wall / 60:.1f} min. Load average (1 min) during the run: mean {statistics.mean(lv):.2f}, "
            f"max {max(lv):.2f} ({len(lv)} samples, 2 vCPU shared with other work).")
    return head + "\n\n" + table + "\n\nVerdict (Levee):\n\n" + verdict + "\n\n" + "\n".join(detail) + "\n"


# --------------------------------------------------------------------------- main


def cleanup():
    global _cleaned
    if _cleaned:
        return
    _cleaned = True
    CHILDREN.kill_all()
    if NETNS is not None:
        NETNS.delete()


def on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def sample_load(stop, loads):
    while not stop.wait(15):
        loads.append((time.monotonic(), benchkit.loadavg().split()[0]))


def main():
    global LEVEE, NETNS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agents", type=int, default=10)
    ap.add_argument("--loss-minutes", type=float, default=10)
    ap.add_argument("--loss", type=float, default=0.1, help="drop probability (UDP and TCP)")
    ap.add_argument("--freezes", type=int, default=10)
    ap.add_argument("--freeze-seconds", type=float, default=3)
    ap.add_argument("--partition-seconds", type=float, default=60)
    ap.add_argument("--heal-limit", type=float, default=30)
    ap.add_argument("--skip-serf", action="store_true")
    ap.add_argument("--json", help="write the raw results here")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 1 min loss, 2 freezes, 30 s partition (Lifeguard's longest suspicion at N=10 is 24 s)")
    ap.add_argument("--phases", default="loss,freezes,partition", help="for trying the script")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out"))
    args = ap.parse_args()
    benchkit.report_steal()
    if args.quick:
        args.loss_minutes, args.freezes, args.partition_seconds = 1, 2, 30
    if not 4 <= args.agents <= 40:
        sys.exit("--agents must be 4..40")
    if os.geteuid() != 0:
        sys.exit("run as root (network namespaces, iptables)")
    for tool in ("ip", "iptables", "curl"):
        if not shutil.which(tool):
            sys.exit(f"{tool} missing (apt-get install -y iproute2 iptables curl)")
    if not args.skip_serf and not os.path.exists(SERF):
        sys.exit("serf missing: apt-get install -y serf, or --skip-serf")
    LEVEE = levee_binary()
    binary = benchkit.binary(LEVEE)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M%S")
    work = os.path.join(args.out, f"pool-faults-{stamp}")
    os.makedirs(work, exist_ok=True)
    loads = [(time.monotonic(), benchkit.loadavg().split()[0])]
    stop = threading.Event()
    threading.Thread(target=sample_load, args=(stop, loads), daemon=True).start()
    start = time.monotonic()
    key = run([LEVEE, "keygen"]).stdout.strip()
    NETNS = Namespaces(NS_PREFIX, SUBNET, args.agents)
    r = Run(args, key, work)
    error = None
    try:
        log(f"namespaces: {args.agents + 1}; members' output in {work}")
        NETNS.create()
        r.converge()
        phases = args.phases.split(",")
        if "loss" in phases:
            r.loss()
        if "freezes" in phases:
            r.freezes()
        if "partition" in phases:
            r.partition()
    except (Exception, KeyboardInterrupt) as e:
        error = e
        log(f"stopped: {e!r}")
    finally:
        stop.set()
        loads.append((time.monotonic(), benchkit.loadavg().split()[0]))
        cleanup()
    wall = time.monotonic() - start
    checks = r.verdict()
    if error is not None:
        checks.append((f"the run completed ({error!r})", False))
    md = report(args, r, checks, wall, binary, loads)
    cmd = "sudo " + (f"LEVEE_BINARY={os.environ['LEVEE_BINARY']} " if "LEVEE_BINARY" in os.environ else "") \
        + "bench/pool-faults.py " + " ".join(a for a in sys.argv[1:])
    md = f"```sh\n{cmd.strip()}\n```\n\n" + md
    with open(os.path.join(work, "report.md"), "w") as f:
        f.write(md)
    raw = {"args": vars(args), "binary": LEVEE, "results": r.res, "checks": checks, "wall_seconds": wall,
           "load_1min": [x[1] for x in loads], "timeline": [(t - start, s) for t, s in r.events]}
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(raw, f, indent=1)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1)
    print(md)
    log(f"written {work}/report.md")
    sys.exit(0 if checks and all(ok for _, ok in checks) else 1)


if __name__ == "__main__":
    main()
