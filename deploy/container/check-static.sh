#!/usr/bin/env bash
# Shows that a binary built the way deploy/container/Containerfile builds the agent
# (swift build -c release --static-swift-stdlib) runs with no Swift runtime library on the loader's
# path: ldd lists no libswift* (nor libFoundation, libdispatch), and it runs with a bare environment
# (no LD_LIBRARY_PATH).
#
#   deploy/container/check-static.sh          the small program in static-check/ (a minute; scripts/test)
#   deploy/container/check-static.sh --full   the agent itself (levee version; about 20 minutes on 2 cores)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
scratch=${LEVEE_STATIC_SCRATCH:-$root/.build-static}
if [[ ${1:-} == --full ]]; then
    swift build -c release --static-swift-stdlib --product levee --package-path "$root" --scratch-path "$scratch" 2>&1 \
        | grep -E 'error|warning: |Compiling|Build complete' | grep -vE '^\[[0-9]+/[0-9]+\] Compiling' || true
    binary="$scratch/release/levee"
    run=(version)
else
    swift build -c release --static-swift-stdlib --package-path "$here/static-check" --scratch-path "$scratch-check" \
        2>&1 | tail -1
    binary="$scratch-check/release/levee-static-check"
    run=()
fi
[[ -x $binary ]] || { echo "check-static.sh: the build made no $binary" >&2; exit 1; }
echo "--- ldd $binary"
ldd "$binary" | tee "$binary.ldd"
if grep -q 'libswift\|libFoundation\|libdispatch' "$binary.ldd"; then
    echo "check-static.sh: the binary needs Swift runtime libraries (above)" >&2
    exit 1
fi
echo "--- run with no Swift library path"
env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH= "$binary" "${run[@]}"
echo "check-static.sh: no Swift runtime library needed"
