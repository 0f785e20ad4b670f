// The `gossip` fuzz target: bytes → every LeveeGossip decoder. Compiled by scripts/fuzz-all into the
// LeveeGossip module (instrumented), so it calls the decoders directly; FuzzTarget.swift calls it by
// its C name.

/// A fixed keyring so the fuzzer also reaches the decryption path (bytes 00…1f, as in the reference).
private let fuzzKeyring: Keyring? = try? Keyring(primary: Array(0..<32))

/// Feeds one input to every decoder; any trap or sanitizer report is a bug. Errors are expected.
@_cdecl("levee_fuzz_gossip")
public func gossipPacketFuzz(_ data: UnsafeRawPointer?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: data, count: size))
    let limits = DecodeLimits(maxDecompressedBytes: 1 << 20, maxStreamBytes: 1 << 20)
    _ = try? PacketCodec(limits: limits).decodePacket(bytes)
    _ = try? PacketCodec(keyring: fuzzKeyring, verifyIncoming: false, limits: limits).decodePacket(bytes)
    _ = try? StreamFramer.decode(bytes, keyring: nil, limits: limits)
    _ = try? StreamFramer.decode(bytes, keyring: fuzzKeyring, verifyIncoming: false, limits: limits)
    _ = try? SerfMessage(bytes, limits: limits)
    _ = try? Tags.decode(bytes)
    _ = try? LZWReader.decompress(bytes, maxOutputBytes: 1 << 20)
    // Incremental framing must agree with whole-buffer decoding, whatever the split.
    var framer = StreamFramer(limits: limits)
    let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    do {
        try framer.append(bytes[..<split])
        _ = try framer.nextMessage()
        try framer.append(bytes[split...])
        _ = try framer.nextMessage()
    } catch {}
    return 0
}
