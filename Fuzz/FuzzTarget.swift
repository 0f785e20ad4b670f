// The libFuzzer entry point of the binary scripts/fuzz-all builds. One binary holds every target, so
// that each instrumented module (LeveeConfiguration, LeveeGossip, LeveeAgent) is compiled once;
// `LEVEE_FUZZ_TARGET` names the target a run drives. Compiled into the LeveeAgent module; the
// `config` and `gossip` targets live in their own modules and are called by their C names.

import Foundation
import LeveeConfiguration
import NIOCore
import NIOEmbedded
import NIOHTTP1

@_silgen_name("levee_fuzz_config")
func configurationFuzzInput(_ data: UnsafeRawPointer?, _ size: Int) -> CInt

@_silgen_name("levee_fuzz_gossip")
func gossipFuzzInput(_ data: UnsafeRawPointer?, _ size: Int) -> CInt

/// One fuzz target: what an input drives, and the inputs its corpus starts from (targets whose seeds
/// are files, `config` and `gossip`, get them from scripts/fuzz-all).
struct FuzzTarget: Sendable {
    var run: @Sendable (UnsafeRawBufferPointer) -> Void
    var seeds: @Sendable () -> [[UInt8]] = { [] }

    /// Every target, by the name `LEVEE_FUZZ_TARGET` gives.
    static let all: [String: FuzzTarget] = [
        "config": FuzzTarget { _ = configurationFuzzInput($0.baseAddress, $0.count) },
        "guard": FuzzTarget(run: GuardRequestFuzz.run, seeds: { GuardRequestFuzz.seeds }),
        "proxy": FuzzTarget(run: ProxyHeadFuzz.run, seeds: { ProxyHeadFuzz.seeds }),
        "notify": FuzzTarget(run: SystemdNotifyFuzz.run, seeds: { SystemdNotifyFuzz.seeds }),
        "gossip": FuzzTarget { _ = gossipFuzzInput($0.baseAddress, $0.count) },
    ]

    /// The target `LEVEE_FUZZ_TARGET` names; the process exits when it names none.
    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["LEVEE_FUZZ_TARGET"] ?? ""
        guard let target = all[name] else {
            let names = all.keys.sorted().joined(separator: ", ")
            FileHandle.standardError.write(Data("LEVEE_FUZZ_TARGET must be one of \(names), not \"\(name)\"\n".utf8))
            exit(2)
        }
        return target
    }()
}

/// Picks the target before the first input; with `LEVEE_FUZZ_SEEDS=DIR`, writes its seeds into DIR
/// (`seed-N`, only those not there yet).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(
    _ argc: UnsafeMutablePointer<CInt>?,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?
) -> CInt {
    let target = FuzzTarget.selected
    if let directory = ProcessInfo.processInfo.environment["LEVEE_FUZZ_SEEDS"] {
        for (index, seed) in target.seeds().enumerated() {
            let path = "\(directory)/seed-\(index)"
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: Data(seed))
            }
        }
    }
    return 0
}

/// Feeds one input to the selected target. A trap, a sanitizer report, a leak or a hang is a bug;
/// errors the code reports are not.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafeRawPointer?, _ size: Int) -> CInt {
    FuzzTarget.selected.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// Writes `request` through the pipeline the HTTP/1.1 executor's connections have
/// (`addHTTPClientHandlers()`, which validates outbound headers), with the head the executor makes
/// (`HTTP1ConnectionPool.head`). A refused header is an error, not a bug.
///
/// One channel serves a thousand requests, as one keep-alive connection does: each request is written
/// whole (head, body, end), which leaves the encoder as it found it. A channel that refused a part is
/// dropped and the next request gets a new one; so is one that has sent a thousand (its response
/// decoder remembers each request's method until a response comes, and none does). A new channel for
/// each request was 40 % of the `proxy` target's time.
func sendAsHTTP1Executor(_ request: HTTPUpstreamRequest, to endpoint: EndpointAddress, remaining: Duration) {
    let head = HTTP1ConnectionPool.head(for: request, endpoint: endpoint, remaining: remaining)
    do {
        let channel = try ExecutorPipeline.channel()
        do {
            try channel.writeOutbound(HTTPClientRequestPart.head(head))
            if let body = request.body { try channel.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(body))) }
            try channel.writeOutbound(HTTPClientRequestPart.end(nil))
            while try channel.readOutbound(as: ByteBuffer.self) != nil {}
        } catch {
            ExecutorPipeline.drop()
        }
    } catch {}
}

/// The executor's client pipeline that ``sendAsHTTP1Executor(_:to:remaining:)`` writes through. A fuzz
/// process runs its inputs one at a time on one thread.
private enum ExecutorPipeline {
    nonisolated(unsafe) private static var current: EmbeddedChannel?
    nonisolated(unsafe) private static var requests = 0

    static func channel() throws -> EmbeddedChannel {
        requests += 1
        if requests > 1000 { drop() }
        if let current { return current }
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHTTPClientHandlers()
        current = channel
        requests = 1
        return channel
    }

    static func drop() {
        _ = try? current?.finish(acceptAlreadyClosed: true)
        current = nil
    }
}
