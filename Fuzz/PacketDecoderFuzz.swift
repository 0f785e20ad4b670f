// libFuzzer entry point over the LeveeGossip decoders. Built by scripts/fuzz-gossip together with the
// LeveeGossip sources as one module, so it calls the decoders directly.

/// A fixed keyring so the fuzzer also reaches the decryption path (bytes 00…1f, as in the reference).
private let fuzzKeyring: Keyring? = try? Keyring(primary: Array(0..<32))

/// Feeds one input to every decoder; any trap or sanitizer report is a bug. Errors are expected.
@_cdecl("LLVMFuzzerTestOneInput")
public func packetDecoderFuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
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
