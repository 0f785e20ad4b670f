#!/bin/bash
# The agent's CPU per empty Guard/Ping, from /proc (user + system ticks) over N pings sent one at a
# time by Debian's Python grpcio on one connection, after 500 warm-up pings. For comparing two
# binaries: run them alternately several times in the same hour and quote the range.
#
#   bench/ping-cpu.sh BINARY [N]      (N default 4000; needs python3-grpcio)
set -u
bin=$1; n=${2:-4000}
dir=$(mktemp -d /tmp/levee-ping-cpu.XXXX)
cat > $dir/levee.yaml <<YAML
listen:
  socket: $dir/levee.sock
  admin_socket: $dir/admin.sock
  http: off
  proxy: off
upstreams: {}
YAML
$bin agent --config $dir/levee.yaml --log-level error > $dir/agent.log 2>&1 &
pid=$!
for i in $(seq 1 100); do [ -S $dir/levee.sock ] && break; sleep 0.1; done
/usr/bin/python3 - "$dir/levee.sock" "$n" "$pid" <<'PY'
import sys, grpc, time, subprocess, re
ch = grpc.insecure_channel("unix://" + sys.argv[1])
ping = ch.unary_unary("/levee.v1.Guard/Ping")
for _ in range(500):
    ping(b"", timeout=30)
def cpu():
    f = open(f"/proc/{sys.argv[3]}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])
tick = 1e6 / 100
n = int(sys.argv[2])
before = cpu(); t0 = time.monotonic()
for _ in range(n):
    ping(b"", timeout=30)
after = cpu(); wall = time.monotonic() - t0
print(f"cpu_us_per_ping={(after - before) * tick / n:.1f} wall_us_per_ping={wall * 1e6 / n:.0f}")
PY
kill -TERM $pid; wait $pid 2>/dev/null
rm -rf $dir
