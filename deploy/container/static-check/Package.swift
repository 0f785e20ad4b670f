// swift-tools-version: 6.1
// A small program built with the agent image's flags (-c release --static-swift-stdlib), using the
// runtime libraries the agent uses (Foundation, Dispatch, Synchronization, Swift concurrency): the
// cheap check, run by scripts/test, that such a binary needs no Swift library at run time. The full
// agent build with the same flags is deploy/container/check-static.sh --full.
import PackageDescription

let package = Package(
    name: "levee-static-check",
    targets: [
        .executableTarget(name: "levee-static-check", swiftSettings: [.swiftLanguageMode(.v6)])
    ]
)
