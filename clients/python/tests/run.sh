#!/usr/bin/env bash
# The Python package's tests: builds the wheel from clients/python (stubs generated from proto/),
# installs it into a fresh virtualenv (with the system's grpcio), and runs pytest against a real
# agent and a real upstream (clients/testing/with-agent.sh).
#
#   clients/python/tests/run.sh       (LEVEE names the agent binary; PYTHON, default /usr/bin/python3)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
package=$(cd "$here/.." && pwd)
python=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d /tmp/levee-python.XXXXXX)
trap 'rm -rf "$work"; rm -rf "$package/build" "$package"/src/*.egg-info' EXIT

"$python" -m pip wheel --no-deps --no-build-isolation -q -w "$work/dist" "$package" 2>&1 \
    | grep -vE 'Beta|warnings.warn|protoc-gen-pyi|pyi_out' || true
wheel=$(ls "$work"/dist/levee-*.whl) || { echo "run.sh: the wheel was not built" >&2; exit 1; }
"$python" -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install -q --no-deps --no-index "$wheel"
# The installed package, not the source tree: run from the tests folder's copy.
cp -r "$here" "$work/tests"
cd "$work"
"$here/../../testing/with-agent.sh" "$work/venv/bin/python" -m pytest -q -p no:cacheprovider "$work/tests"
