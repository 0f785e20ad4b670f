/// The body of a `compress` message (memberlist util.go `compress`): an algorithm and its output.
///
/// Only algorithm 0, LZW, exists (util.go `lzwAlgo`).
public struct CompressedPayload: MsgpackStruct {
    /// memberlist util.go `lzwAlgo`.
    public static let lzwAlgorithm = 0

    public var algo: Int
    public var buf: [UInt8]

    public init(algo: Int = CompressedPayload.lzwAlgorithm, buf: [UInt8]) {
        self.algo = algo
        self.buf = buf
    }

    public func encode(to writer: inout MsgpackWriter) {
        writer.writeMapHeader(2)
        writer.writeString("Algo")
        writer.writeSigned(Int64(algo))
        writer.writeString("Buf")
        writer.writeRaw(buf)
    }

    public init(msgpack value: MsgpackValue) throws(WireError) {
        let fields = try MsgpackFields(value, typeName: "CompressedPayload")
        algo = try fields.signed("Algo")
        buf = try fields.bytes("Buf")
    }
}
