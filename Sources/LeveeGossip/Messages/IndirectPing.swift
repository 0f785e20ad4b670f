/// A request to probe `node` on our behalf (memberlist net.go `indirectPingReq`).
///
/// `Port == 0` means "my own bind port"; `nack` asks the relay to answer with a `nack` if the target
/// stays silent, which only peers with PMax ≥ 4 understand (state.go `probeNode`).
public struct IndirectPing: MsgpackStruct {
    public var seqNo: UInt32
    /// The target's IP address (4 or 16 bytes).
    public var target: [UInt8]
    public var port: UInt16
    public var node: String
    public var nack: Bool
    public var sourceAddr: [UInt8]
    public var sourcePort: UInt16
    public var sourceNode: String

    public init(
        seqNo: UInt32,
        target: [UInt8],
        port: UInt16,
        node: String,
        nack: Bool,
        sourceAddr: [UInt8] = [],
        sourcePort: UInt16 = 0,
        sourceNode: String = ""
    ) {
        self.seqNo = seqNo
        self.target = target
        self.port = port
        self.node = node
        self.nack = nack
        self.sourceAddr = sourceAddr
        self.sourcePort = sourcePort
        self.sourceNode = sourceNode
    }

    public func encode(to writer: inout MsgpackWriter) {
        let omitAddr = sourceAddr.isEmpty
        let omitNode = sourceNode.isEmpty
        let omitPort = sourcePort == 0
        writer.writeMapHeader(5 + (omitAddr ? 0 : 1) + (omitNode ? 0 : 1) + (omitPort ? 0 : 1))
        writer.writeString("Nack")
        writer.writeBool(nack)
        writer.writeString("Node")
        writer.writeString(node)
        writer.writeString("Port")
        writer.writeUnsigned(UInt64(port))
        writer.writeString("SeqNo")
        writer.writeUnsigned(UInt64(seqNo))
        if !omitAddr {
            writer.writeString("SourceAddr")
            writer.writeRaw(sourceAddr)
        }
        if !omitNode {
            writer.writeString("SourceNode")
            writer.writeString(sourceNode)
        }
        if !omitPort {
            writer.writeString("SourcePort")
            writer.writeUnsigned(UInt64(sourcePort))
        }
        writer.writeString("Target")
        writer.writeRaw(target)
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "IndirectPing")
        seqNo = try fields.unsigned("SeqNo")
        target = try fields.bytes("Target")
        port = try fields.unsigned("Port")
        node = try fields.string("Node")
        nack = try fields.bool("Nack")
        sourceAddr = try fields.bytes("SourceAddr")
        sourcePort = try fields.unsigned("SourcePort")
        sourceNode = try fields.string("SourceNode")
    }
}
