#!/usr/bin/env bash
# The C client's tests against a real agent and a real upstream, then the same under valgrind:
# no definite or indirect leak and no memory error, or it fails.
#
#   clients/c/tests/run.sh [BUILD_DIR]     (make check runs it; LEVEE names the agent binary)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
# shellcheck disable=SC2016
"$here/../../testing/with-agent.sh" bash -c '
    set -euo pipefail
    echo "--- liblevee tests"
    "$0/levee_test"
    echo "--- liblevee tests under valgrind"
    valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file="$LEVEE_TEST_DIR/valgrind.log" \
        "$0/levee_test" || { status=$?; cat "$LEVEE_TEST_DIR/valgrind.log" >&2; exit "$status"; }
    if [[ -s "$LEVEE_TEST_DIR/valgrind.log" ]]; then cat "$LEVEE_TEST_DIR/valgrind.log" >&2; exit 1; fi
    echo "valgrind: no leak, no error"
' "$build"
