/// The two messages of the standard gRPC health service (`grpc.health.v1`, gRPC
/// `doc/health-checking.md`), encoded by hand so that a check goes through the executor's
/// bytes-forwarding path like any forwarded call:
///
/// ```proto
/// message HealthCheckRequest { string service = 1; }
/// message HealthCheckResponse {
///   enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
///   ServingStatus status = 1;
/// }
/// ```
enum GRPCHealthCheck {
    /// The method every gRPC health service serves.
    static let method = "/grpc.health.v1.Health/Check"

    /// A `HealthCheckRequest` for `service` (proto3: an empty service is an empty message).
    static func request(service: String) -> [UInt8] {
        guard !service.isEmpty else { return [] }
        let bytes = Array(service.utf8)
        var message: [UInt8] = [0x0A]  // field 1, length-delimited
        var length = UInt64(bytes.count)
        while length >= 0x80 {
            message.append(UInt8(truncatingIfNeeded: length) | 0x80)
            length >>= 7
        }
        message.append(UInt8(length))
        return message + bytes
    }

    /// The `status` of a `HealthCheckResponse` (0, UNKNOWN, when absent); nil when `bytes` is not a
    /// valid protobuf message. Unknown fields are skipped, as proto3 requires.
    static func servingStatus(decoding bytes: [UInt8]) -> UInt64? {
        var reader = Reader(bytes: bytes)
        var status: UInt64 = 0
        while !reader.isAtEnd {
            guard let key = reader.varint() else { return nil }
            switch (key >> 3, key & 7) {
            case (1, 0):
                guard let value = reader.varint() else { return nil }
                status = value
            case (_, 0):
                guard reader.varint() != nil else { return nil }
            case (_, 1):
                guard reader.skip(8) else { return nil }
            case (_, 2):
                guard let length = reader.varint(), length <= Int.max, reader.skip(Int(length)) else { return nil }
            case (_, 5):
                guard reader.skip(4) else { return nil }
            default:
                return nil
            }
        }
        return status
    }

    /// `SERVING`, `NOT_SERVING`… as the proto spells them.
    static func statusName(_ status: UInt64) -> String {
        switch status {
        case 0: "UNKNOWN"
        case 1: "SERVING"
        case 2: "NOT_SERVING"
        case 3: "SERVICE_UNKNOWN"
        default: "serving status \(status)"
        }
    }

    /// A gRPC status code's name (`doc/statuscodes.md`).
    static func codeName(_ code: UInt32) -> String {
        let names = [
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
            "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
            "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
        ]
        return Int(code) < names.count ? names[Int(code)] : "\(code)"
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        var isAtEnd: Bool { offset >= bytes.count }

        mutating func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while offset < bytes.count, shift < 64 {
                let byte = bytes[offset]
                offset += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }

        mutating func skip(_ count: Int) -> Bool {
            guard count <= bytes.count - offset else { return false }
            offset += count
            return true
        }
    }
}
