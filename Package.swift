// swift-tools-version: 6.1
import PackageDescription

/// One block of settings for every target: Swift 6 language mode and the upcoming features that
/// grpc-swift-2 also adopts, so that the whole package reads and checks the same way.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "levee",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "levee", targets: ["levee"]),
        .library(name: "LeveePolicy", targets: ["LeveePolicy"]),
        .library(name: "LeveeClock", targets: ["LeveeClock"]),
        .library(name: "LeveeTestKit", targets: ["LeveeTestKit"]),
        .library(name: "LeveeGossip", targets: ["LeveeGossip"]),
        .library(name: "LeveeGossipNIO", targets: ["LeveeGossipNIO"]),
        .library(name: "LeveeAPI", targets: ["LeveeAPI"]),
        .library(name: "LeveeAgent", targets: ["LeveeAgent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Test-only:
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
    ],
    targets: [
        // gRPC's C core (Debian libgrpc-dev): the Guard server's transport (`listen.guard_server: core`).
        .systemLibrary(
            name: "CGRPCCore",
            providers: [.apt(["libgrpc-dev"])]
        ),
        // Pure policy state machines: no I/O, time and randomness are parameters.
        .target(
            name: "LeveePolicy",
            swiftSettings: swiftSettings
        ),
        // The shells' clocks: the protocol the agent and the gossip node sleep on, and the monotonic
        // clock they run on (tests run them on LeveeTestKit's TestClock).
        .target(
            name: "LeveeClock",
            dependencies: ["LeveePolicy"],
            swiftSettings: swiftSettings
        ),
        // Test-only helpers: manual clocks, a seeded random number generator, a scripted upstream
        // executor, child processes and polling, and real upstream servers (HTTP and gRPC) that fail,
        // stall and recover on command.
        .target(
            name: "LeveeTestKit",
            dependencies: [
                "LeveeAgent",
                "LeveeAPI",
                "LeveeClock",
                "LeveeConfiguration",
                "LeveePolicy",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // The memberlist/Serf wire codec: msgpack, LZW, CRC-32, AES-GCM, message bodies. Pure, no I/O.
        .target(
            name: "LeveeGossip",
            dependencies: [
                "LeveePolicy",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The gossip shell's I/O: one UDP socket and one TCP listener on the same port, speaking the
        // LeveeGossip codec. Kept apart so that LeveeGossip stays pure.
        .target(
            name: "LeveeGossipNIO",
            dependencies: [
                "LeveeClock",
                "LeveeGossip",
                "LeveePolicy",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Code generated from proto/ by scripts/generate-proto (committed: the generator takes ~10
        // minutes to build).
        .target(
            name: "LeveeAPI",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        // The agent's configuration file: YAML parsed into the policy core's configuration values, every
        // error naming the file, the key path and what was expected. No I/O beyond reading the file.
        .target(
            name: "LeveeConfiguration",
            dependencies: [
                "LeveePolicy",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // The agent: the upstream runtime (policy state behind a lock), the outbound
        // executors, the Guard and Admin services, sockets and lifecycle.
        .target(
            name: "LeveeAgent",
            dependencies: [
                "CGRPCCore",
                "LeveeAPI",
                "LeveeClock",
                "LeveeConfiguration",
                "LeveeGossip",
                "LeveeGossipNIO",
                "LeveePolicy",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // `levee demo`: the chapter's scenario (Orders, Payments, Inventory, a load generator) as real
        // processes, the analysis of what they measured, and its table and SVG chart. Part of the product:
        // a user of `levee demo` has nothing else installed.
        .target(
            name: "LeveeDemo",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The `levee` executable: the agent and the operator's commands.
        .executableTarget(
            name: "levee",
            dependencies: [
                "LeveeAgent",
                "LeveeDemo",
                "LeveeAPI",
                "LeveeConfiguration",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                "LeveeGossip",
                "LeveeGossipNIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LeveeAgentTests",
            dependencies: [
                "LeveeConfiguration",
                "LeveeGossipNIO",
                "LeveeAgent",
                "LeveeAPI",
                "LeveePolicy",
                "LeveeTestKit",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Yams", package: "Yams"),
            ],
            exclude: ["Python"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LeveeConfigurationTests",
            dependencies: ["LeveeConfiguration", "LeveePolicy"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LeveeCommandTests",
            dependencies: ["LeveeGossip", "LeveeTestKit"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LeveeDemoTests",
            dependencies: ["LeveeDemo"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LeveePolicyTests",
            dependencies: [
                "LeveePolicy",
                "LeveeTestKit",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LeveeGossipTests",
            dependencies: [
                "LeveeGossip",
                "LeveePolicy",
                "LeveeTestKit",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LeveeGossipNIOTests",
            dependencies: [
                "LeveeGossip",
                "LeveeGossipNIO",
                "LeveePolicy",
                "LeveeTestKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
