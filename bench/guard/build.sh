#!/bin/sh
# Builds the Guard load client into bench/out/guard-client (needs libgrpc++-dev from Debian).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../out"
mkdir -p "$out"
if ! pkg-config --exists grpc++; then
    echo "libgrpc++-dev is missing: apt-get install -y libgrpc++-dev protobuf-compiler-grpc" >&2
    exit 1
fi
# shellcheck disable=SC2046
g++ -std=c++17 -O2 -Wall -o "$out/guard-client" "$here/client.cc" \
    $(pkg-config --cflags --libs grpc++ protobuf) -pthread
echo "$out/guard-client"
