/// Upper bounds that keep hostile input from making the decoder allocate or recurse without end.
///
/// memberlist itself trusts its peers far more (it has no limit on LZW output, for instance); these
/// limits are chosen to be well above anything a real agent sends while still bounding memory.
public struct DecodeLimits: Hashable, Sendable {
    /// The most bytes a single LZW payload may expand to. memberlist caps encrypted streams at 20 MiB
    /// (`maxPushStateBytes`, memberlist net.go); a compressed stream holds the same push/pull state.
    public var maxDecompressedBytes: Int
    /// How deep msgpack arrays and maps may nest.
    public var maxMsgpackDepth: Int
    /// How deep packet wrappers (compound, compress) may nest; Go recurses without a bound.
    public var maxWrapperDepth: Int
    /// The most bytes a stream message may buffer before it completes (memberlist net.go
    /// `maxPushStateBytes` = 20 MiB).
    public var maxStreamBytes: Int
    /// The most node states a push/pull header may announce.
    public var maxPushPullNodes: Int

    public init(
        maxDecompressedBytes: Int = 20 * 1024 * 1024,
        maxMsgpackDepth: Int = 32,
        maxWrapperDepth: Int = 8,
        maxStreamBytes: Int = 20 * 1024 * 1024,
        maxPushPullNodes: Int = 65_536
    ) {
        self.maxDecompressedBytes = maxDecompressedBytes
        self.maxMsgpackDepth = maxMsgpackDepth
        self.maxWrapperDepth = maxWrapperDepth
        self.maxStreamBytes = maxStreamBytes
        self.maxPushPullNodes = maxPushPullNodes
    }

    /// The defaults, sized for real serf/memberlist traffic.
    public static let defaults = DecodeLimits()
}
