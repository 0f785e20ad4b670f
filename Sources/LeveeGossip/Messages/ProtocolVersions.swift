/// The `Vsn` byte string of `alive` and push/pull node states: protocol and delegate version ranges.
///
/// It travels as a 6-byte raw string, not an array (go-msgpack writes `[]uint8` as bytes):
/// `a6 01 05 02 02 05 05`. memberlist v0.2.2 indexes all six bytes of a known node's Vsn (state.go
/// `aliveNode`; fixed upstream in #368), so we always send six and accept only six.
public struct ProtocolVersions: Hashable, Sendable {
    public var protocolMin: UInt8
    public var protocolMax: UInt8
    public var protocolCur: UInt8
    public var delegateMin: UInt8
    public var delegateMax: UInt8
    public var delegateCur: UInt8

    public init(
        protocolMin: UInt8,
        protocolMax: UInt8,
        protocolCur: UInt8,
        delegateMin: UInt8,
        delegateMax: UInt8,
        delegateCur: UInt8
    ) {
        self.protocolMin = protocolMin
        self.protocolMax = protocolMax
        self.protocolCur = protocolCur
        self.delegateMin = delegateMin
        self.delegateMax = delegateMax
        self.delegateCur = delegateCur
    }

    /// What `serf agent` 0.9.4 sends: memberlist 1…5 speaking 2, serf 2…5 speaking 5.
    public static let serfAgent = ProtocolVersions(
        protocolMin: 1,
        protocolMax: 5,
        protocolCur: 2,
        delegateMin: 2,
        delegateMax: 5,
        delegateCur: 5
    )

    /// The six wire bytes: PMin, PMax, PCur, DMin, DMax, DCur.
    public var bytes: [UInt8] {
        [protocolMin, protocolMax, protocolCur, delegateMin, delegateMax, delegateCur]
    }

    public init(bytes: [UInt8], field: String) throws(WireError) {
        guard bytes.count == 6 else {
            throw WireError(.invalidValue, field: field, "Vsn has \(bytes.count) bytes, expected 6")
        }
        self.init(
            protocolMin: bytes[0],
            protocolMax: bytes[1],
            protocolCur: bytes[2],
            delegateMin: bytes[3],
            delegateMax: bytes[4],
            delegateCur: bytes[5]
        )
    }
}
