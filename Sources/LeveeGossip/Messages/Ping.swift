/// A probe (memberlist net.go `ping`), sent by UDP and as the TCP fallback.
///
/// `Source*` are tagged `omitempty`: they are left out entirely when empty, so a ping from an old
/// sender has only `Node` and `SeqNo`. The receiver ignores a ping whose non-empty `Node` is not its
/// own name (net.go `handlePing`), and acks to `SourceAddr:SourcePort` when both are set.
public struct Ping: MsgpackStruct {
    public var seqNo: UInt32
    /// The name of the node being probed; empty on pings from old senders.
    public var node: String
    public var sourceAddr: [UInt8]
    public var sourcePort: UInt16
    public var sourceNode: String

    public init(seqNo: UInt32, node: String, sourceAddr: [UInt8] = [], sourcePort: UInt16 = 0, sourceNode: String = "")
    {
        self.seqNo = seqNo
        self.node = node
        self.sourceAddr = sourceAddr
        self.sourcePort = sourcePort
        self.sourceNode = sourceNode
    }

    public func encode(to writer: inout MsgpackWriter) {
        let omitAddr = sourceAddr.isEmpty
        let omitNode = sourceNode.isEmpty
        let omitPort = sourcePort == 0
        writer.writeMapHeader(2 + (omitAddr ? 0 : 1) + (omitNode ? 0 : 1) + (omitPort ? 0 : 1))
        writer.writeString("Node")
        writer.writeString(node)
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
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "Ping")
        seqNo = try fields.unsigned("SeqNo")
        node = try fields.string("Node")
        sourceAddr = try fields.bytes("SourceAddr")
        sourcePort = try fields.unsigned("SourcePort")
        sourceNode = try fields.string("SourceNode")
    }
}
