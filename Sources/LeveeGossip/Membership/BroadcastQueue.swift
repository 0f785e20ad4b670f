/// Messages waiting to be piggybacked on gossip, each sent a limited number of times (memberlist
/// queue.go `TransmitLimitedQueue`).
///
/// Priority: fewest transmits first, then the largest message that still fits the space left, then
/// the newest. A named broadcast (memberlist's own, named after the node it is about) replaces any
/// queued one of the same name; an unnamed one (a Serf message) is unique and replaces nothing.
public struct BroadcastQueue<Payload: Hashable & Sendable>: Hashable, Sendable {
    struct Entry: Hashable, Sendable {
        var payload: Payload
        var size: Int
        var name: String?
        var transmits: Int
        var id: UInt64
    }

    private(set) var entries: [Entry] = []
    private var nextID: UInt64 = 0

    public init() {}

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// Whether a broadcast named `name` is still waiting (memberlist uses this to learn that a leave
    /// has been sent out: its `Finished` notification).
    public func contains(name: String) -> Bool {
        entries.contains { $0.name == name }
    }

    /// The queued payloads, highest priority first.
    public var payloads: [Payload] { entries.sorted(by: Self.precedes).map(\.payload) }

    /// Queues `payload` of `size` encoded bytes, dropping an older broadcast with the same `name`
    /// (queue.go `queueBroadcast`, `NamedBroadcast`).
    public mutating func enqueue(_ payload: Payload, size: Int, name: String? = nil) {
        if let name { entries.removeAll { $0.name == name } }
        nextID &+= 1
        entries.append(Entry(payload: payload, size: size, name: name, transmits: 0, id: nextID))
    }

    /// Takes what fits in `limit` bytes, charging `overhead` more per message, and counts one
    /// transmit for each; a message is retired once it has been sent `transmitLimit` times
    /// (queue.go `GetBroadcasts`). Each message is taken at most once per call.
    public mutating func take(overhead: Int, limit: Int, transmitLimit: Int) -> [Payload] {
        guard !entries.isEmpty else { return [] }
        var used = 0
        var taken: [Payload] = []
        var sent: Set<UInt64> = []
        while true {
            let free = limit - used - overhead
            guard free > 0 else { break }
            var best: Int?
            for index in entries.indices where !sent.contains(entries[index].id) && entries[index].size <= free {
                if let current = best {
                    if Self.precedes(entries[index], entries[current]) { best = index }
                } else {
                    best = index
                }
            }
            guard let index = best else { break }
            used += overhead + entries[index].size
            taken.append(entries[index].payload)
            sent.insert(entries[index].id)
            entries[index].transmits += 1
        }
        entries.removeAll { $0.transmits >= transmitLimit }
        if entries.isEmpty { nextID = 0 }
        return taken
    }

    /// Keeps at most `maxRetained` messages, dropping those sent most often, then the smallest and
    /// oldest (queue.go `Prune`, which serf calls with `MaxQueueDepth`).
    public mutating func prune(maxRetained: Int) {
        guard entries.count > maxRetained else { return }
        entries.sort(by: Self.precedes)
        entries.removeLast(entries.count - max(0, maxRetained))
    }

    /// The send limit for a pool of `nodeCount` nodes: `retransmitMult × ceil(log10(n + 1))`
    /// (memberlist util.go `retransmitLimit`). `ceil(log10(n + 1))` is the number of decimal digits
    /// of `n`, computed without floating point.
    public static func retransmitLimit(retransmitMult: Int, nodeCount: Int) -> Int {
        var digits = 0
        var rest = max(0, nodeCount)
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        return retransmitMult * digits
    }

    /// queue.go `limitedBroadcast.Less`: fewer transmits, then longer, then newer.
    private static func precedes(_ lhs: Entry, _ rhs: Entry) -> Bool {
        if lhs.transmits != rhs.transmits { return lhs.transmits < rhs.transmits }
        if lhs.size != rhs.size { return lhs.size > rhs.size }
        return lhs.id > rhs.id
    }
}
