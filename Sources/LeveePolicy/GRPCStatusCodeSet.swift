/// A set of gRPC status codes (0 OK to 16 UNAUTHENTICATED, gRPC `doc/statuscodes.md`), as a bitmask.
public struct GRPCStatusCodeSet: Hashable, Sendable {
    /// The codes gRPC defines. A client maps any other code it receives to UNKNOWN (2).
    public static let validRange: ClosedRange<Int> = 0...16

    /// The names of the codes, indexed by code, in the spelling the configuration uses (the canonical
    /// upper-snake names of `statuscodes.md`, lower-cased, with `-` for `_`).
    public static let names: [String] = [
        "ok", "cancelled", "unknown", "invalid-argument", "deadline-exceeded", "not-found", "already-exists",
        "permission-denied", "resource-exhausted", "failed-precondition", "aborted", "out-of-range",
        "unimplemented", "internal", "unavailable", "data-loss", "unauthenticated",
    ]

    @usableFromInline
    var bits: UInt32 = 0

    /// An empty set.
    @inlinable
    public init() {}

    /// A set holding `codes` (those outside `validRange` are ignored).
    public init(_ codes: Int...) {
        for code in codes { insert(code) }
    }

    /// Adds `code`; a code outside `validRange` is ignored.
    @inlinable
    public mutating func insert(_ code: Int) {
        guard Self.validRange.contains(code) else { return }
        bits |= 1 &<< UInt32(code)
    }

    /// Adds every code of `other`.
    @inlinable
    public mutating func formUnion(_ other: GRPCStatusCodeSet) {
        bits |= other.bits
    }

    /// Whether `code` is in the set; never for a code outside `validRange`.
    @inlinable
    public func contains(_ code: Int) -> Bool {
        guard code >= 0 && code <= 16 else { return false }
        return bits & (1 &<< UInt32(code)) != 0
    }

    /// Whether the set holds no code.
    @inlinable
    public var isEmpty: Bool { bits == 0 }

    /// The code called `name` (`unavailable`, `RESOURCE_EXHAUSTED`, `Deadline-Exceeded`: case and `-`/`_`
    /// do not matter), or nil.
    public static func code(named name: some StringProtocol) -> Int? {
        let normalized = String(name.lowercased().map { $0 == "_" ? "-" : $0 })
        return names.firstIndex(of: normalized)
    }
}
