#!/usr/bin/env bash
# Runs COMMAND beside a real agent and a real upstream, then stops both:
#
#   clients/testing/with-agent.sh COMMAND [ARGS…]
#
# COMMAND sees LEVEE_SOCKET (the agent's Guard socket), LEVEE_UPSTREAM (the upstream's host:port),
# LEVEE_HTTP (the agent's metrics/health listener), LEVEE_TEST_DIR (a scratch folder) and LEVEE_PID.
# The agent's configuration names the upstreams the client tests use:
#   web   retries up to 3 attempts with short backoff
#   sick  one attempt; the breaker opens after 4 calls at 50 % failures, for 60 s
#   db    one slot, SHEDDABLE calls never queue (for permits sharing the bulkhead with calls)
#   vendor, watched  like sick, each for one test, so that the tests do not depend on each other
# LEVEE (default .build/debug/levee) is the agent binary.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
levee=${LEVEE:-$root/.build/debug/levee}
[[ -x $levee ]] || { echo "with-agent.sh: no agent binary at $levee (swift build --product levee)" >&2; exit 2; }

dir=$(mktemp -d /tmp/levee-client.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT

# Bounded poll: CONDITION must hold within SECONDS.
await() {
    local seconds=$1; shift
    local until=$((SECONDS + seconds))
    until "$@"; do
        ((SECONDS < until)) || return 1
        sleep 0.05
    done
}

python3 "$here/upstream.py" "$dir/port" &
pids+=($!)
await 20 test -s "$dir/port" || { echo "with-agent.sh: the upstream did not start" >&2; exit 2; }
upstream="127.0.0.1:$(cat "$dir/port")"

cat > "$dir/levee.yaml" <<YAML
listen:
  socket: $dir/run/levee.sock
  admin_socket: $dir/run/admin.sock
  http: 127.0.0.1:0
  proxy: off
upstreams:
  web:
    endpoints: ["$upstream"]
    retry: { max_attempts: 3, backoff: { base: 5ms, max: 20ms } }
  sick:
    endpoints: ["$upstream"]
    retry: { max_attempts: 1 }
    breaker: { window: { kind: count, size: 4 }, min_calls: 4, failure_rate: 50, open_for: 60s }
  db:
    endpoints: ["$upstream"]
    bulkhead: { max_concurrent: 1, max_queue: 1, queue_timeout: 50ms }
  vendor:
    endpoints: ["$upstream"]
    retry: { max_attempts: 1 }
    breaker: { window: { kind: count, size: 2 }, min_calls: 2, failure_rate: 100, open_for: 60s }
  watched:
    endpoints: ["$upstream"]
    retry: { max_attempts: 1 }
    breaker: { window: { kind: count, size: 2 }, min_calls: 2, failure_rate: 100, open_for: 60s }
YAML
"$levee" agent --config "$dir/levee.yaml" --log-level notice 2> "$dir/agent.log" &
agent=$!
pids+=($agent)
answering() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$1" 2>/dev/null; }
if ! await 30 answering "$dir/run/levee.sock"; then
    echo "with-agent.sh: the agent did not start:" >&2; cat "$dir/agent.log" >&2; exit 2
fi
http=$(grep -oE 'http=[0-9.]+:[0-9]+' "$dir/agent.log" | head -1 | cut -d= -f2)

status=0
LEVEE_SOCKET="$dir/run/levee.sock" LEVEE_UPSTREAM="$upstream" LEVEE_HTTP="$http" LEVEE_TEST_DIR="$dir" \
    LEVEE_PID="$agent" "$@" || status=$?
if ((status != 0)); then echo "--- agent log" >&2; tail -30 "$dir/agent.log" >&2; fi
exit "$status"
