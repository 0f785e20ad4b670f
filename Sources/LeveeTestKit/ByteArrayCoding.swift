public import GRPCCore

/// Serializes a gRPC message that is already bytes: an opaque forwarder's (and a test's) view of any
/// method, whatever its protobuf type.
public struct ByteArraySerializer: MessageSerializer, Sendable {
    public init() {}

    public func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
        Bytes(message)
    }
}

/// Deserializes a gRPC message into its bytes, untouched.
public struct ByteArrayDeserializer: MessageDeserializer, Sendable {
    public init() {}

    public func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}
