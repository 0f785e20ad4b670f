// swift-tools-version:6.0
// The proxy path's floor on SwiftNIO (`bench/proxy-floor.py`): two minimal forwarders, measured
// beside HAProxy and Levee's proxy listener. A package of its own, so that the agent's build and
// `scripts/test` never build it.
import PackageDescription

let package = Package(
    name: "proxy-floor",
    dependencies: [.package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3")],
    targets: [
        .executableTarget(
            name: "proxy-floor",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
