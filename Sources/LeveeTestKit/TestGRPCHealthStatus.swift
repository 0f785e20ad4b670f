/// What a ``TestGRPCServer``'s health service (`grpc.health.v1.Health/Check`) answers for a service:
/// the `ServingStatus` values of gRPC's `health.proto`.
public enum TestGRPCHealthStatus: UInt8, Sendable, CaseIterable {
    case unknown = 0
    case serving = 1
    case notServing = 2
    case serviceUnknown = 3

    /// The `HealthCheckResponse` carrying this status (proto3: UNKNOWN, the default, is an empty
    /// message).
    var responseMessage: [UInt8] {
        self == .unknown ? [] : [0x08, rawValue]
    }

    /// The `service` of a `HealthCheckRequest` (field 1, a string); nil when the bytes are not one.
    /// Written apart from the agent's encoder, so that the tests check one against the other.
    static func service(inRequest bytes: [UInt8]) -> String? {
        var offset = 0
        var service = ""
        func varint() -> Int? {
            var value = 0
            var shift = 0
            while offset < bytes.count, shift < 63 {
                let byte = bytes[offset]
                offset += 1
                value |= Int(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        while offset < bytes.count {
            guard let key = varint(), key & 7 == 2, let length = varint(), length <= bytes.count - offset else {
                return nil
            }
            if key >> 3 == 1 {
                service = String(decoding: bytes[offset..<offset + length], as: UTF8.self)
            }
            offset += length
        }
        return service
    }
}
