"""Network namespaces and packet-filter faults for the pool benchmarks (bench/gossip.py, bench/pool-faults.py).

A bridge namespace and one namespace per member, joined by veth pairs (both ends are created inside
the namespaces made here: nothing is added to the host's own namespace), addresses in a /24 that
exists only inside them. Faults are iptables rules (nft backend) in a chain of their own in each
member namespace, jumped to from INPUT, so that healing is one flush; netem does not exist on these
machines (docs: test-network). Deleting the namespaces removes every rule with them.

Python 3 stdlib only; needs root.
"""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

CHAIN = "LVFAULT"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd, check=True, timeout=30):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


class Children:
    """Child processes, each the leader of its own session; all of them are SIGKILLed by kill_all()
    (a stopped one too: SIGKILL needs no SIGCONT, but it gets one first so that nothing stays frozen)."""

    def __init__(self):
        self.procs = []
        self.lock = threading.Lock()

    def add(self, proc):
        with self.lock:
            self.procs.append(proc)
        return proc

    def kill_all(self):
        with self.lock:
            procs = list(self.procs)
        for p in procs:
            if p.poll() is None:
                for sig in (signal.SIGCONT, signal.SIGKILL):
                    try:
                        os.killpg(p.pid, sig)
                    except (ProcessLookupError, PermissionError):
                        pass
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


class Namespaces:
    """`n` member namespaces PREFIX m1..mN at SUBNET(10+i)/24 on a bridge in namespace PREFIX br."""

    def __init__(self, prefix, subnet, n):
        self.prefix, self.subnet, self.n = prefix, subnet, n
        self.bridge = prefix + "br"
        self.names = [f"{prefix}m{i}" for i in range(1, n + 1)]
        self.created = []

    def address(self, i):
        """The address of member namespace i (0-based)."""
        return f"{self.subnet}{11 + i}"

    def create(self):
        # Leftovers of an earlier, killed run with the same prefix (ours only).
        for ns in run(["ip", "netns", "list"]).stdout.split():
            if ns.startswith(self.prefix):
                subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL, timeout=15)
        run(["ip", "netns", "add", self.bridge])
        self.created.append(self.bridge)
        run(["ip", "-n", self.bridge, "link", "add", "br0", "type", "bridge"])
        run(["ip", "-n", self.bridge, "link", "set", "br0", "up"])
        run(["ip", "-n", self.bridge, "link", "set", "lo", "up"])
        for i, ns in enumerate(self.names):
            run(["ip", "netns", "add", ns])
            self.created.append(ns)
            run(["ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", f"p{i + 1}",
                 "netns", self.bridge])
            run(["ip", "-n", ns, "addr", "add", f"{self.address(i)}/24", "dev", "eth0"])
            run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            run(["ip", "-n", self.bridge, "link", "set", f"p{i + 1}", "master", "br0"])
            run(["ip", "-n", self.bridge, "link", "set", f"p{i + 1}", "up"])
            self.exec(ns, "iptables", "-N", CHAIN)
            self.exec(ns, "iptables", "-A", "INPUT", "-j", CHAIN)
        if shutil.which("ping"):
            r = self.exec(self.names[0], "ping", "-c", "1", "-W", "2", self.address(self.n - 1), check=False)
            if r.returncode != 0:
                log("warning: ping between namespaces failed (continuing; gossip will tell)")

    def delete(self):
        for ns in list(self.created):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL, timeout=15)
            self.created.remove(ns)

    @staticmethod
    def exec(ns, *cmd, check=True):
        return run(["ip", "netns", "exec", ns, *cmd], check=check)

    # ----------------------------------------------------------------------- faults

    def add_loss(self, probability, protocols=("udp", "tcp"), interface="eth0"):
        """Random inbound loss, by default on eth0 only (loopback spared: the members' local traffic,
        such as serf's RPC); interface=None: on every interface."""
        only = ["-i", interface] if interface else []
        for ns in self.names:
            for proto in protocols:
                self.exec(ns, "iptables", "-A", CHAIN, *only, "-p", proto, "-m", "statistic",
                          "--mode", "random", "--probability", str(probability), "-j", "DROP")

    def add_partition(self, side_a, side_b):
        """Drops every packet between the member namespaces of side_a and side_b (0-based indexes),
        inbound on both sides."""
        for a, b in ((side_a, side_b), (side_b, side_a)):
            for i in a:
                for j in b:
                    self.exec(self.names[i], "iptables", "-A", CHAIN, "-s", self.address(j), "-j", "DROP")

    def dropped(self):
        """Packets dropped by the fault rules so far, per protocol ('all' for rules without one)."""
        out = {}
        for ns in self.names:
            text = self.exec(ns, "iptables", "-nvxL", CHAIN).stdout
            for line in text.splitlines()[2:]:
                f = line.split()
                if len(f) >= 4 and f[2] == "DROP":
                    out[f[3]] = out.get(f[3], 0) + int(f[0])
        return out

    def heal(self):
        for ns in self.names:
            self.exec(ns, "iptables", "-F", CHAIN)
