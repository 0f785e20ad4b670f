#!/usr/bin/env python3
"""Debian's Prometheus against a real agent: it scrapes every series the agent exports, and the
LeveeBreakerOpenTooLong rule (a copy of alerts.yml with a short `for:`) fires while a breaker is
held open by real failures, and for that upstream only.

Run through clients/testing/with-agent.sh (it starts the agent and its upstream):

    clients/testing/with-agent.sh deploy/prometheus/test_prometheus.py
"""
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LEVEE = os.environ.get("LEVEE", os.path.join(ROOT, ".build", "debug", "levee"))
WORK = os.environ["LEVEE_TEST_DIR"]
AGENT_HTTP = os.environ["LEVEE_HTTP"]
SOCKET = os.environ["LEVEE_SOCKET"]
passed, failed = 0, 0


def check(condition, what):
    global passed, failed
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if condition:
        passed += 1
    else:
        failed += 1


def eventually(condition, within, every=0.25):
    """The bounded poll: whether `condition` held within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except OSError:
            pass
        time.sleep(every)
    return condition()


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    # The test's copy of the rules: LeveeBreakerOpenTooLong waits 3 s instead of 5 min.
    rules = open(os.path.join(ROOT, "deploy", "prometheus", "alerts.yml")).read()
    short, count = re.subn(r"(alert: LeveeBreakerOpenTooLong\n(?:.*\n)*?\s*for:) 5m", r"\1 3s", rules)
    check(count == 1, "the test's copy shortens LeveeBreakerOpenTooLong's for: to 3s")
    open(os.path.join(WORK, "alerts.yml"), "w").write(short)
    promtool = subprocess.run(["promtool", "check", "rules", os.path.join(WORK, "alerts.yml")], capture_output=True)
    check(promtool.returncode == 0, "promtool check rules accepts the test's copy")

    port = free_port()
    open(os.path.join(WORK, "prometheus.yml"), "w").write(
        f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["{WORK}/alerts.yml"]
scrape_configs:
  - job_name: levee
    static_configs:
      - targets: ["{AGENT_HTTP}"]
"""
    )
    prometheus = subprocess.Popen(
        ["prometheus", f"--config.file={WORK}/prometheus.yml", f"--storage.tsdb.path={WORK}/tsdb",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(WORK, "prometheus.log"), "w"),
    )
    api = f"http://127.0.0.1:{port}/api/v1"
    try:
        def target_up():
            targets = json.loads(get(f"{api}/targets"))["data"]["activeTargets"]
            return any(t["health"] == "up" for t in targets)

        check(eventually(target_up, 60), f"Prometheus scrapes the agent at {AGENT_HTTP}")

        # Real failures trip the breaker of `sick` (4 calls at 50 %; it stays open 60 s).
        for _ in range(6):
            subprocess.run([LEVEE, "call", "sick", "/fail", "--timeout", "2000", "--socket", SOCKET],
                           capture_output=True)
        subprocess.run([LEVEE, "call", "web", "/ok", "--socket", SOCKET], capture_output=True)

        # Every series the agent exports now is in Prometheus after a scrape or two.
        exported = set()
        for line in get(f"http://{AGENT_HTTP}/metrics").splitlines():
            if line and not line.startswith("#"):
                exported.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
        check(len(exported) > 10, f"the agent exports {len(exported)} metric names")

        def stored():
            query = urllib.parse.urlencode({"match[]": '{job="levee"}'})
            return {s["__name__"] for s in json.loads(get(f"{api}/series?{query}"))["data"]}

        check(eventually(lambda: exported <= stored(), 30),
              f"Prometheus stores every exported series (missing: {sorted(exported - stored())})")
        query = urllib.parse.urlencode({"query": 'levee_breaker_open{upstream="sick"}'})
        check(eventually(lambda: any(r["value"][1] == "1" for r in json.loads(get(f"{api}/query?{query}"))["data"]["result"]), 30),
              "levee_breaker_open{upstream=\"sick\"} is 1 in Prometheus")

        def alerts():
            return json.loads(get(f"{api}/alerts"))["data"]["alerts"]

        def firing():
            return [a for a in alerts() if a["labels"]["alertname"] == "LeveeBreakerOpenTooLong" and a["state"] == "firing"]

        check(eventually(lambda: firing(), 60), "LeveeBreakerOpenTooLong fires while the breaker is held open")
        upstreams = sorted(a["labels"].get("upstream") for a in firing())
        check(upstreams == ["sick"], f"it fires for the open upstream only (got {upstreams})")
        if firing():
            check("sick" in firing()[0]["annotations"]["summary"], "its summary names the upstream")
    finally:
        prometheus.terminate()
        prometheus.wait(timeout=30)
    print(f"prometheus: {passed} passed, {failed} failed")
    if failed:
        print(open(os.path.join(WORK, "prometheus.log")).read()[-3000:], file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
