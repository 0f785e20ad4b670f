#!/usr/bin/env python3
"""Gossip pool benchmark: Levee (`levee gossip-member`) beside real `serf agent`s.

One run measures both kinds with the same number of members (default 5 each):

 1. convergence after join   -- loopback; member 1 starts alone, members 2..N are then started at
                                once, each joining member 1; t0 = the moment the last one was spawned.
                                Per member: the first time it has seen all N-1 others alive, minus t0.
 2. failure detection        -- loopback; after (3) the last member is SIGKILLed; per surviving member:
                                the time its `failed` event for that member arrives, minus the kill.
 3. packets per member per s -- loopback, steady state after convergence, ~20 s of `tcpdump -i lo -w`
                                restricted to the kind's gossip port range; every packet with a gossip
                                port (UDP, or TCP from/to a gossip port) of that kind is counted once
                                (each packet is sent by exactly one member) / members / seconds.
 4. packet loss              -- network namespaces made here (a bridge namespace and one namespace per
                                member, veth pairs, 10.77.41.0/24 inside them only); each member
                                namespace runs one Levee member and one serf agent (netkit.py); after
                                convergence, `iptables -A INPUT -p udp -m statistic --mode random
                                --probability 0.1 -j DROP` (in netkit's chain, jumped to from INPUT) in
                                every member namespace for --seconds (default 120); counts
                                false `failed` events (nobody dies), and suspicions where observable.

Event timing is the time the line arrives on the harness's pipe (time.monotonic), for both kinds:
Levee prints JSON lines (member-joined / member-failed); serf agents run with -log-level=debug and
print "serf: EventMemberJoin: X", "serf: EventMemberFailed: X", "memberlist: Suspect X has failed".
After convergence, `serf members -format=json` is polled once per serf member to confirm all alive.

Python 3 stdlib only. Needs root for tcpdump, namespaces and iptables (installs iproute2, iptables,
tcpdump with apt-get if missing). Every child is killed and every namespace deleted on exit.

    sudo bench/gossip.py [--members 5] [--seconds 120] [--steady 20] [--skip-loss]
"""

import argparse
import atexit
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchkit import log, machine, report_steal  # noqa: E402
from netkit import Namespaces  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEVEE = os.path.join(ROOT, ".build", "release", "levee")
SERF = shutil.which("serf") or "/usr/bin/serf"

# Loopback port plan (below the ephemeral range, so TCP client ports never fall inside).
LEVEE_BASE = 17946
SERF_BASE = 27946
SERF_RPC_BASE = 27373

NS_PREFIX = "lvbench-"
SUBNET = "10.77.41."  # a /24 that exists only inside the namespaces this script creates

CHILDREN = []  # Member objects and helper Popen objects
NETNS = None  # netkit.Namespaces of the loss run
CHILD_LOCK = threading.Lock()
_cleaned = False


def run(cmd, check=True, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


# --------------------------------------------------------------------------- children & cleanup

class Member:
    """One pool member (a Levee gossip-member or a serf agent) with a reader thread on its stdout."""

    def __init__(self, kind, name, cmd, rpc=None, netns=None):
        self.kind, self.name, self.rpc, self.netns = kind, name, rpc, netns
        self.lines = []  # (monotonic time, parsed event dict)
        self.tail = []  # the last raw output lines, for diagnosing an unexpected exit
        self.cond = threading.Condition()
        full = (["ip", "netns", "exec", netns] if netns else []) + cmd
        self.spawned = time.monotonic()
        self.proc = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        with CHILD_LOCK:
            CHILDREN.append(self.proc)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in self.proc.stdout:
            now = time.monotonic()
            text = raw.decode("utf-8", "replace")
            self.tail = (self.tail + [text.rstrip()])[-8:]
            ev = parse_line(self.kind, text)
            if ev is not None:
                with self.cond:
                    self.lines.append((now, ev))
                    self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def events(self):
        with self.cond:
            return list(self.lines)

    def wait_for(self, pred, deadline):
        """Wait until pred(events) is truthy or the monotonic deadline passes; return its value."""
        with self.cond:
            while True:
                v = pred(self.lines)
                if v or time.monotonic() >= deadline:
                    return v
                self.cond.wait(timeout=min(0.2, max(0.0, deadline - time.monotonic())))

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass


SERF_RE = [
    (re.compile(r"serf: EventMemberJoin: (\S+)"), "member-joined"),
    (re.compile(r"serf: EventMemberFailed: (\S+)"), "member-failed"),
    (re.compile(r"serf: EventMemberLeave: (\S+)"), "member-left"),
    (re.compile(r"serf: EventMemberReap: (\S+)"), "member-reaped"),
    (re.compile(r"memberlist: Suspect (\S+) has failed"), "suspect"),
    (re.compile(r"memberlist: Marking (\S+) as failed"), "marking-failed"),
    (re.compile(r"memberlist: Refuting a suspect"), "refute"),
    (re.compile(r"memberlist: Failed ping: (\S+)"), "failed-ping"),
    (re.compile(r"memberlist: Was able to connect to (\S+) but other probes failed"), "tcp-fallback"),
]


def parse_line(kind, line):
    if kind == "levee":
        line = line.strip()
        if not line.startswith("{"):
            return {"event": "stderr", "text": line} if line else None
        try:
            return json.loads(line)
        except ValueError:
            return None
    for rx, ev in SERF_RE:
        m = rx.search(line)
        if m:
            return {"event": ev, "member": m.group(1) if m.groups() else None}
    if "Serf agent running" in line:
        return {"event": "ready"}
    return None


def kill_all():
    with CHILD_LOCK:
        procs = list(CHILDREN)
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def delete_namespaces():
    if NETNS is not None:
        NETNS.delete()


def cleanup():
    global _cleaned
    if _cleaned:
        return
    _cleaned = True
    kill_all()
    delete_namespaces()


def on_signal(signum, _frame):
    log(f"signal {signum}: cleaning up")
    cleanup()
    sys.exit(128 + signum)


def stop_members(members):
    for m in members:
        m.kill()
    for m in members:
        try:
            m.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


# --------------------------------------------------------------------------- starting pools

def start_levee(name, host, port, join=None, netns=None):
    cmd = [LEVEE, "gossip-member", "--name", name, "--bind", f"{host}:{port}", "--profile", "lan"]
    if join:
        cmd += ["--join", join]
    return Member("levee", name, cmd, netns=netns)


def start_serf(name, host, port, rpc, join=None, netns=None):
    cmd = [SERF, "agent", f"-node={name}", f"-bind={host}:{port}", f"-rpc-addr={rpc}",
           "-log-level=debug", "-profile=lan"]
    if join:
        cmd += [f"-join={join}"]
    return Member("serf", name, cmd, rpc=rpc, netns=netns)


def seen_alive(member, names):
    """First time (monotonic) at which `member` had seen every name in `names` alive, else None."""
    alive = set()
    for t, ev in member.events():
        who = ev.get("member")
        if ev.get("event") == "member-joined" and who in names:
            alive.add(who)
        elif ev.get("event") in ("member-failed", "member-left") and who in alive:
            alive.discard(who)
        if alive == names:
            return t
    return None


def wait_ready(m, timeout):
    ok = m.wait_for(lambda ls: any(e.get("event") == "ready" for _, e in ls), time.monotonic() + timeout)
    if not ok:
        raise RuntimeError(f"{m.kind} {m.name} not ready after {timeout}s")
    if m.kind == "serf":  # also wait for its RPC
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if serf_members(m) is not None:
                return
            time.sleep(0.05)
        raise RuntimeError(f"serf {m.name} RPC not answering")


def serf_members(m):
    cmd = (["ip", "netns", "exec", m.netns] if m.netns else []) + [
        SERF, "members", f"-rpc-addr={m.rpc}", "-format=json"]
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=5)
        if r.returncode != 0:
            return None
        return {x["name"]: x["status"] for x in json.loads(r.stdout)["members"]}
    except (subprocess.TimeoutExpired, ValueError, KeyError):
        return None


def start_pool(kind, n, host_of, port_of, rpc_of, netns_of, prefix):
    """Start member 1, wait for it, then spawn 2..n together (each joins 1). Returns (members, t0)."""
    names = [f"{prefix}{i}" for i in range(1, n + 1)]

    def start(i, join):
        if kind == "levee":
            return start_levee(names[i], host_of(i), port_of(i), join, netns_of(i))
        return start_serf(names[i], host_of(i), port_of(i), rpc_of(i), join, netns_of(i))

    first = start(0, None)
    wait_ready(first, 20)
    seed = f"{host_of(0)}:{port_of(0)}"
    members = [first] + [start(i, seed) for i in range(1, n)]
    t0 = members[-1].spawned
    return members, t0


def measure_convergence(members, t0, timeout):
    names = {m.name for m in members}
    deadline = time.monotonic() + timeout
    times = []
    for m in members:
        others = names - {m.name}
        t = m.wait_for(lambda _ls, m=m, o=others: seen_alive(m, o), deadline)
        times.append(None if t is None else max(0.0, t - t0))
    return times


# --------------------------------------------------------------------------- packet counting

def count_pcap(path, lo_port, hi_port, t_from=0.0, t_to=float("inf")):
    """Count IPv4 packets on loopback whose UDP/TCP source or destination port is in the range."""
    counts = {"udp": 0, "tcp": 0, "udp_bytes": 0, "tcp_bytes": 0}
    with open(path, "rb") as f:
        gh = f.read(24)
        if len(gh) < 24:
            return counts
        magic = struct.unpack("<I", gh[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        linktype = struct.unpack(endian + "I", gh[20:24])[0]
        l2 = {1: 14, 113: 16, 276: 20, 0: 4, 12: 0, 101: 0}.get(linktype, 14)
        while True:
            ph = f.read(16)
            if len(ph) < 16:
                break
            sec, frac, incl, orig = struct.unpack(endian + "IIII", ph)
            data = f.read(incl)
            ts = sec + frac / (1e9 if magic == 0xA1B23C4D else 1e6)
            if not t_from <= ts <= t_to:
                continue
            ip = data[l2:]
            if len(ip) < 20 or ip[0] >> 4 != 4:
                continue
            ihl = (ip[0] & 0x0F) * 4
            proto = ip[9]
            if proto not in (6, 17) or len(ip) < ihl + 4:
                continue
            sport, dport = struct.unpack(">HH", ip[ihl:ihl + 4])
            if lo_port <= sport <= hi_port or lo_port <= dport <= hi_port:
                k = "udp" if proto == 17 else "tcp"
                counts[k] += 1
                counts[k + "_bytes"] += orig - l2
    return counts


def measure_packets(kind, lo_port, hi_port, n, seconds, workdir):
    path = os.path.join(workdir, f"{kind}.pcap")
    filt = f"(udp or tcp) and portrange {lo_port}-{hi_port}"
    p = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-U", "-s", "96", "-w", path, filt],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    with CHILD_LOCK:
        CHILDREN.append(p)
    time.sleep(1.5)  # let tcpdump attach before the window opens
    # The window is in wall-clock time because pcap timestamps are; only packets inside it count.
    w_from = time.time()
    time.sleep(seconds)
    w_to = time.time()
    time.sleep(0.5)
    os.killpg(p.pid, signal.SIGINT)
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
    elapsed = w_to - w_from
    c = count_pcap(path, lo_port, hi_port, w_from, w_to)
    total = c["udp"] + c["tcp"]
    return {
        "pps": total / n / elapsed,
        "udp_pps": c["udp"] / n / elapsed,
        "tcp_pps": c["tcp"] / n / elapsed,
        "bps": (c["udp_bytes"] + c["tcp_bytes"]) * 8 / n / elapsed,
        "seconds": elapsed,
        "packets": total,
    }


# --------------------------------------------------------------------------- loopback phases

def loopback_kind(kind, n, steady, workdir):
    base = LEVEE_BASE if kind == "levee" else SERF_BASE
    prefix = "lv" if kind == "levee" else "sf"
    log(f"{kind}: starting {n} members on 127.0.0.1:{base}-{base + n - 1}")
    members, t0 = start_pool(kind, n, lambda i: "127.0.0.1", lambda i: base + i,
                             lambda i: f"127.0.0.1:{SERF_RPC_BASE + i}", lambda i: None, prefix)
    res = {"kind": kind}
    try:
        conv = measure_convergence(members, t0, 30)
        res["convergence"] = conv
        log(f"{kind}: convergence {fmt_list(conv)}")
        if kind == "serf":
            res["serf_members_ok"] = all(
                (s := serf_members(m)) is not None and len(s) == n and set(s.values()) == {"alive"}
                for m in members)
        time.sleep(2.0)  # let join traffic settle
        log(f"{kind}: counting packets for {steady} s")
        res["packets"] = measure_packets(kind, base, base + n - 1, n, steady, workdir)
        log(f"{kind}: {res['packets']['pps']:.1f} packets/member/s")

        victim = members[-1]
        survivors = members[:-1]
        log(f"{kind}: SIGKILL {victim.name}")
        t_kill = time.monotonic()
        victim.kill(signal.SIGKILL)
        deadline = t_kill + 60

        def failed_at(m):
            def pred(ls):
                for t, ev in ls:
                    if ev.get("event") == "member-failed" and ev.get("member") == victim.name and t >= t_kill:
                        return t
                return None
            return pred

        det = []
        for m in survivors:
            t = m.wait_for(failed_at(m), deadline)
            det.append(None if t is None else t - t_kill)
        res["detection"] = det
        # first suspicion (serf only: memberlist's "Suspect X has failed" log line)
        sus = []
        for m in survivors:
            ts = [t for t, ev in m.events() if ev.get("event") == "suspect" and ev.get("member") == victim.name
                  and t >= t_kill]
            sus.append(min(ts) - t_kill if ts else None)
        res["first_suspect"] = sus if kind == "serf" else None
        log(f"{kind}: detection {fmt_list(det)}")
    finally:
        stop_members(members)
    return res


# --------------------------------------------------------------------------- namespaces & loss

def loss_run(n, seconds, probability, kinds=("levee", "serf")):
    global NETNS
    log(f"loss: creating {n + 1} namespaces")
    NETNS = Namespaces(NS_PREFIX, SUBNET, n)
    NETNS.create()
    nss = NETNS.names
    host = NETNS.address
    res = {}
    lv, sf, t0l, t0s = [], [], 0, 0
    try:
        if "levee" in kinds:
            lv, t0l = start_pool("levee", n, host, lambda i: 7946, None, lambda i: nss[i], "lv")
        if "serf" in kinds:
            sf, t0s = start_pool("serf", n, host, lambda i: 8946, lambda i: "127.0.0.1:7373", lambda i: nss[i], "sf")
        cl = measure_convergence(lv, t0l, 30)
        cs = measure_convergence(sf, t0s, 30)
        res["conv_levee"], res["conv_serf"] = cl, cs
        log(f"loss: converged without loss: levee {fmt_list(cl)}; serf {fmt_list(cs)}")
        time.sleep(2.0)
        NETNS.add_loss(probability, ("udp",), interface=None)
        t_loss = time.monotonic()
        log(f"loss: {probability:.0%} inbound UDP loss in every member namespace for {seconds} s")
        while time.monotonic() - t_loss < seconds:
            time.sleep(min(5.0, seconds - (time.monotonic() - t_loss)) if seconds > 0 else 0)
            dead = [m.name for m in lv + sf if m.proc.poll() is not None]
            if dead:
                for m in lv + sf:
                    if m.proc.poll() is not None:
                        log(f"{m.name} exited with {m.proc.returncode}; last output:\n  " + "\n  ".join(m.tail))
                raise RuntimeError(f"members exited during the loss run: {dead}")
        t_end = time.monotonic()
        # drop counters (sanity: the rule matched)
        drops = NETNS.dropped().get("17", 0)  # protocol 17: UDP
        res["dropped_udp"] = drops

        def count(members, ev_name):
            return sum(1 for m in members for t, e in m.events()
                       if e.get("event") == ev_name and t_loss <= t <= t_end)

        res["false_failed_levee"] = count(lv, "member-failed")
        res["false_failed_serf"] = count(sf, "member-failed")
        res["suspect_serf"] = count(sf, "suspect")
        res["refute_serf"] = count(sf, "refute")
        res["failed_ping_serf"] = count(sf, "failed-ping")
        res["tcp_fallback_serf"] = count(sf, "tcp-fallback")
        res["left_levee"] = count(lv, "member-left")
        res["left_serf"] = count(sf, "member-left")
        # end state
        names_s = {m.name for m in sf}
        res["serf_end_alive"] = sum(1 for m in sf if (s := serf_members(m)) and
                                    all(s.get(x) == "alive" for x in names_s))
        names_l = {m.name for m in lv}
        res["levee_end_alive"] = sum(1 for m in lv if levee_view_all_alive(m, names_l - {m.name}))
        res["seconds"] = t_end - t_loss
        log(f"loss: false failed levee={res['false_failed_levee']} serf={res['false_failed_serf']} "
            f"(serf suspicions {res['suspect_serf']}), UDP dropped {drops}")
    finally:
        stop_members(lv + sf)
        delete_namespaces()
    return res


def levee_view_all_alive(m, others):
    state = {}
    for _, ev in m.events():
        if ev.get("member") in others and ev.get("event", "").startswith("member-"):
            state[ev["member"]] = ev["event"]
    return all(state.get(o) in ("member-joined", "member-updated") for o in others)


# --------------------------------------------------------------------------- report

def fmt_list(xs):
    return "[" + ", ".join("-" if x is None else f"{x:.2f}" for x in xs) + "]"


def med_max(xs):
    vals = [x for x in xs if x is not None]
    missing = len(xs) - len(vals)
    if not vals:
        return "not observed"
    s = f"{statistics.median(vals):.2f} s / {max(vals):.2f} s"
    if missing:
        s += f" ({missing} of {len(xs)} never)"
    return s


def versions():
    sv = run([SERF, "version"], check=False).stdout.splitlines()
    rev = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    return (sv[0] if sv else "serf ?"), rev


def report(args, lo, loss, wall):
    serf_v, rev = versions()
    n = args.members
    L, S = lo.get("levee", {}), lo.get("serf", {})
    rows = []

    def row(what, lv, sv, target):
        rows.append(f"| {what} | {lv} | {sv} | {target} |")

    row(f"convergence after join, {n} members (median / max over members)",
        med_max(L.get("convergence", [])), med_max(S.get("convergence", [])),
        "~1.0 s to 99 % at N=10 (logistic model, §6)")
    row("failure detection after SIGKILL (median / max over survivors)",
        med_max(L.get("detection", [])), med_max(S.get("detection", [])),
        "probe 1 s + 0.5 s + suspicion 4–24 s (§6: ~5 s measured at 3 nodes)")
    fs = [x for x in (S.get("first_suspect") or []) if x is not None]
    row("first suspicion of the killed member in the pool (earliest own-probe `Suspect` log line)",
        "not observable (no suspect event)", f"{min(fs):.2f} s" if fs else "not observed",
        "~1.58 protocol periods for the first detection (SWIM, §6)")

    def pk(d, key, f="{:.1f}"):
        return f.format(d["packets"][key]) if "packets" in d else "-"

    row(f"packets sent per member per second, steady state (~{args.steady} s)",
        f"{pk(L, 'pps')} (UDP {pk(L, 'udp_pps')}, TCP {pk(L, 'tcp_pps')})",
        f"{pk(S, 'pps')} (UDP {pk(S, 'udp_pps')}, TCP {pk(S, 'tcp_pps')})",
        "independent of N (SWIM)")
    row("bandwidth per member, steady state (IP bytes)",
        f"{pk(L, 'bps', '{:.0f}')} bit/s" if "packets" in L else "-",
        f"{pk(S, 'bps', '{:.0f}')} bit/s" if "packets" in S else "-",
        "≤ 328 kbit/s per node (HashiCorp model, §6)")
    if loss:
        sec = f"{loss['seconds']:.0f} s"
        row(f"false `failed` events, 10 % inbound UDP loss, {sec}, {n} members",
            str(loss["false_failed_levee"]), str(loss["false_failed_serf"]),
            "0 expected (Lifeguard: >50× fewer false positives than SWIM)")
        row("suspicions raised under that loss",
            "not observable (no suspect event)",
            f"{loss['suspect_serf']} (refutations logged: {loss['refute_serf']})", "-")
        row("probes lost / saved only by the TCP fallback ping under that loss",
            "not observable", f"{loss['failed_ping_serf']} / {loss['tcp_fallback_serf']}", "-")
        row("members seeing all others alive at the end of the loss run",
            f"{loss['levee_end_alive']} of {n}", f"{loss['serf_end_alive']} of {n}", f"{n} of {n}")
    table = "\n".join(["| measure | Levee | serf agent | target |", "|---|---|---|---|"] + rows)
    detail = []
    for k, d in (("Levee", L), ("serf", S)):
        if d:
            detail.append(f"- {k}: convergence {fmt_list(d.get('convergence', []))} s, "
                          f"detection {fmt_list(d.get('detection', []))} s, "
                          f"{d.get('packets', {}).get('packets', '-')} packets in "
                          f"{d.get('packets', {}).get('seconds', 0):.1f} s")
    if loss:
        detail.append(f"- loss run: convergence before loss Levee {fmt_list(loss['conv_levee'])} s, "
                      f"serf {fmt_list(loss['conv_serf'])} s; UDP datagrams dropped by the rule: "
                      f"{loss['dropped_udp']}; member-left events during the loss: "
                      f"Levee {loss['left_levee']}, serf {loss['left_serf']}")
    if "serf_members_ok" in S:
        detail.append(f"- `serf members` after convergence showed all {n} alive on every agent: "
                      f"{S['serf_members_ok']}")
    head = (f"Measured {datetime.date.today().isoformat()} on {machine()}; Levee {rev} "
            f"(release build), {serf_v}; wall time of the run {wall:.0f} s.")
    return head + "\n\n" + table + "\n\n" + "\n".join(detail) + "\n"


# --------------------------------------------------------------------------- main

def ensure_tools(kinds):
    need = {"ip": "iproute2", "iptables": "iptables", "tcpdump": "tcpdump"}
    missing = [pkg for tool, pkg in need.items() if not shutil.which(tool)]
    if missing:
        if os.geteuid() != 0:
            sys.exit(f"missing {missing}; run as root so the script can apt-get install them")
        subprocess.run(["apt-get", "install", "-y", *missing], check=True, timeout=600)
    if "levee" in kinds and not os.path.exists(LEVEE):
        sys.exit(f"{LEVEE} missing: swift build -c release --product levee")
    if not os.path.exists(SERF):
        sys.exit("serf missing: apt-get install -y serf")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=120, help="length of the packet-loss run")
    ap.add_argument("--steady", type=int, default=20, help="length of the packet count")
    ap.add_argument("--loss", type=float, default=0.1, help="inbound UDP drop probability")
    ap.add_argument("--skip-loss", action="store_true")
    ap.add_argument("--kinds", default="levee,serf", help="for trying the script: levee, serf or both")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out"))
    args = ap.parse_args()
    report_steal()
    if not 2 <= args.members <= 10:
        sys.exit("--members must be 2..10")
    if os.geteuid() != 0:
        sys.exit("run as root (tcpdump, network namespaces, iptables)")
    ensure_tools(args.kinds.split(","))
    atexit.register(cleanup)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    start = time.monotonic()
    load_before = open("/proc/loadavg").read().split()[:3]
    lo = {}
    with tempfile.TemporaryDirectory(prefix="levee-gossip-bench-") as work:
        for kind in args.kinds.split(","):
            lo[kind] = loopback_kind(kind, args.members, args.steady, work)
    loss = None if args.skip_loss else loss_run(args.members, args.seconds, args.loss, args.kinds.split(","))
    wall = time.monotonic() - start
    cleanup()
    load_after = open("/proc/loadavg").read().split()[:3]
    md = report(args, lo, loss, wall)
    md += (f"- load average (1/5/15 min) before the run {' '.join(load_before)}, "
           f"after {' '.join(load_after)} (2 vCPU; other work on the machine shows here)\n")
    cmd = "sudo bench/gossip.py " + " ".join(sys.argv[1:])
    md = f"```sh\n{cmd.strip()}\n```\n\n" + md
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"gossip-{datetime.datetime.now().strftime('%Y-%m-%d-%H%M%S')}.md")
    with open(path, "w") as f:
        f.write(md)
    print(md)
    log(f"written {path}")


if __name__ == "__main__":
    main()
