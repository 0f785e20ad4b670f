#!/usr/bin/env python3
"""What the agent costs at rest: CPU and system calls with no traffic, no Watch subscriber, no gossip.

Starts the agent (LEVEE_BINARY or --levee, default .build/release/levee) on a temporary configuration
with three upstreams (two HTTP, one gRPC, default policies: breakers, outlier detection, retries; no
health checks, no gossip), lets it settle, then measures over --seconds (default 60):

  1. CPU: user + system clock ticks of the agent from /proc, without any tracer attached;
  2. system calls: `strace -f -c` attached to every thread for the same length of time.

Prints the CPU share of one core and the system calls per second, beside the targets of issue 16
(<= 0.1 % of a core, <= 10 system calls a second). Needs strace (apt-get install strace).

    bench/idle.py [--levee PATH] [--seconds 60] [--settle 5]
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")


def ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--levee", default=os.environ.get("LEVEE_BINARY", os.path.join(ROOT, ".build", "release", "levee")))
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--settle", type=float, default=5)
    args = ap.parse_args()
    if not shutil.which("strace"):
        sys.exit("bench/idle.py: strace is needed (apt-get install strace)")
    tmp = tempfile.mkdtemp(prefix="levee-idle-", dir="/tmp")
    config = os.path.join(tmp, "levee.yaml")
    with open(config, "w") as f:
        f.write(f"""service: idle
listen: {{ socket: {tmp}/levee.sock, admin_socket: {tmp}/admin.sock, http: "127.0.0.1:0", proxy: "127.0.0.1:0" }}
upstreams:
  payments:
    endpoints: ["127.0.0.1:8081", "127.0.0.1:8082"]
    retry: {{ max_attempts: 3 }}
  inventory:
    endpoints: ["127.0.0.1:8083"]
  search:
    protocol: grpc
    endpoints: ["127.0.0.1:8084"]
""")
    agent = subprocess.Popen([args.levee, "agent", "--config", config, "--log-level", "warning"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(tmp, "levee.sock")):
            if agent.poll() is not None or time.monotonic() > deadline:
                sys.exit("bench/idle.py: the agent did not start")
            time.sleep(0.1)
        time.sleep(args.settle)  # a benchmark, not a test: let the start settle

        t0, started = ticks(agent.pid), time.monotonic()
        time.sleep(args.seconds)
        t1, elapsed = ticks(agent.pid), time.monotonic() - started
        cpu_share = (t1 - t0) / TICK / elapsed

        out = os.path.join(tmp, "strace.txt")
        subprocess.run(["timeout", "-s", "INT", str(args.seconds), "strace", "-f", "-c", "-o", out, "-p",
                        str(agent.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out) as f:
            table = f.read()
        total = re.search(r"^\s*100\.00\s+\S+\s+\S+\s+(\d+)", table, re.M)
        calls = int(total.group(1)) if total else 0
        rows = [line for line in table.splitlines() if re.match(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+\d+", line)]

        print(f"agent {args.levee}, at rest for {elapsed:.0f} s after {args.settle:.0f} s to settle")
        print(f"  CPU: {t1 - t0} clock ticks = {cpu_share * 100:.3f} % of a core   (target <= 0.1 %)")
        print(f"  system calls: {calls} in {args.seconds:.0f} s = {calls / args.seconds:.1f}/s   (target <= 10/s)")
        for line in rows[:8]:
            print("   ", line.strip())
        ok = cpu_share <= 0.001 and calls / args.seconds <= 10
        print("  PASS" if ok else "  FAIL")
        return 0 if ok else 1
    finally:
        os.killpg(agent.pid, signal.SIGTERM)
        agent.wait(timeout=15)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
