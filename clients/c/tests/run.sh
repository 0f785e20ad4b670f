#!/usr/bin/env bash
# The C client's tests against a real agent and a real upstream, then the same under valgrind:
# no definite or indirect leak and no memory error, or it fails.
#
#   clients/c/tests/run.sh [BUILD_DIR]     (make check runs it; LEVEE names the agent binary)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)

# make install into a scratch prefix; an app (examples/levee-get.c) built with pkg-config against it.
prefix=$(mktemp -d /tmp/levee-c-prefix.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
make -s -C "$here/.." install PREFIX="$prefix" BUILD="$build" > /dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046
cc -std=c11 -D_POSIX_C_SOURCE=200809L -o "$prefix/levee-get" "$here/../examples/levee-get.c" \
    $(pkg-config --cflags --libs levee) -Wl,-rpath,"$prefix/lib"
for file in include/levee.h lib/liblevee.a lib/liblevee.so lib/pkgconfig/levee.pc; do
    [[ -e $prefix/$file ]] || { echo "run.sh: make install did not install $file" >&2; exit 1; }
done
# shellcheck disable=SC2016
"$here/../../testing/with-agent.sh" bash -c '
    set -euo pipefail
    echo "--- levee-get, built with pkg-config against the installed library"
    body=$("$1" web /ok 2> "$LEVEE_TEST_DIR/get.err")
    [[ $body == "hello from upstream" ]] && grep -q "^OK 200 attempts=1" "$LEVEE_TEST_DIR/get.err" \
        || { echo "levee-get: $body / $(cat "$LEVEE_TEST_DIR/get.err")" >&2; exit 1; }
    status=0; "$1" sick /fail 2> "$LEVEE_TEST_DIR/get.err" > /dev/null || status=$?
    ((status == 1)) || { echo "levee-get: a failure exited $status" >&2; exit 1; }
    echo "levee-get: 2 passed, 0 failed"
    echo "--- liblevee tests"
    "$0/levee_test"
    echo "--- liblevee tests under valgrind"
    valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file="$LEVEE_TEST_DIR/valgrind.log" \
        "$0/levee_test" || { status=$?; cat "$LEVEE_TEST_DIR/valgrind.log" >&2; exit "$status"; }
    if [[ -s "$LEVEE_TEST_DIR/valgrind.log" ]]; then cat "$LEVEE_TEST_DIR/valgrind.log" >&2; exit 1; fi
    echo "valgrind: no leak, no error"
' "$build" "$prefix/levee-get"
