#!/bin/sh
# Builds the Guard load client (bench/out/guard-client), the C-core Ping server
# (bench/out/guard-cserver, with stubs generated from proto/levee/v1/guard.proto into
# bench/out/gen) and the Swift Ping server on the C core's C API (bench/out/guard-ccore-swift, from
# ccore-swift/). Needs libgrpc++-dev and protobuf-compiler-grpc from Debian, and swiftc.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root="$here/../.."
out="$here/../out"
mkdir -p "$out/gen"
if ! pkg-config --exists grpc++ || ! command -v grpc_cpp_plugin >/dev/null; then
    echo "libgrpc++-dev or protobuf-compiler-grpc is missing: apt-get install -y libgrpc++-dev protobuf-compiler-grpc" >&2
    exit 1
fi
# shellcheck disable=SC2046
g++ -std=c++17 -O2 -Wall -o "$out/guard-client" "$here/client.cc" \
    $(pkg-config --cflags --libs grpc++ protobuf) -pthread
protoc --proto_path="$root/proto" --cpp_out="$out/gen" --grpc_out="$out/gen" \
    --plugin=protoc-gen-grpc="$(command -v grpc_cpp_plugin)" "$root/proto/levee/v1/guard.proto"
# shellcheck disable=SC2046
g++ -std=c++17 -O2 -Wall -I"$out/gen" -o "$out/guard-cserver" "$here/cserver.cc" \
    "$out/gen/levee/v1/guard.pb.cc" "$out/gen/levee/v1/guard.grpc.pb.cc" \
    $(pkg-config --cflags --libs grpc++ protobuf) -pthread
swiftc -O -swift-version 6 -I "$here/ccore-swift" -o "$out/guard-ccore-swift" "$here/ccore-swift/main.swift"
echo "$out/guard-client $out/guard-cserver $out/guard-ccore-swift"
