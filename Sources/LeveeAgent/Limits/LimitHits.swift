import CoreMetrics
import LeveeConfiguration
import Logging
import Synchronization

/// A limit of ``ListenerLimits`` that a caller hit; its raw value is the key under `listen`, the
/// `limit` label of `levee_limit_hits_total`.
enum ListenerLimit: String, CaseIterable, Sendable {
    case maxMessageSize = "max_message_size"
    case maxStreamsPerConnection = "max_streams_per_connection"
    case maxConnections = "max_connections"
    case maxHeaderSize = "max_header_size"
    case maxRequestBody = "max_request_body"
    case idleTimeout = "idle_timeout"
    case readTimeout = "read_timeout"
}

/// One listener's limits and the counters of their hits (`levee_limit_hits_total{limit,socket}`),
/// every one registered at start so that a dashboard sees zeros rather than no series.
final class ListenerLimitState: Sendable {
    /// The listener's name in the metric: `guard`, `admin`, `proxy` or `http`.
    let socket: String
    let limits: ListenerLimits
    let connections: OpenConnections
    private let counters: [ListenerLimit: Counter]
    private let logger: Logger
    /// When each limit's hits were last logged.
    private let lastWarned = Mutex<[ListenerLimit: ContinuousClock.Instant]>([:])
    /// How often one limit's hits are logged, per listener.
    static let warningInterval = Duration.seconds(60)

    init(socket: String, limits: ListenerLimits, metrics: AgentMetrics, logger: Logger) {
        self.socket = socket
        self.limits = limits
        self.logger = logger
        connections = OpenConnections(limit: limits.maxConnections)
        var counters: [ListenerLimit: Counter] = [:]
        for limit in ListenerLimit.allCases {
            counters[limit] = Counter(
                label: MetricName.limitHits,
                dimensions: [("limit", limit.rawValue), ("socket", socket)],
                factory: metrics.factory
            )
        }
        self.counters = counters
    }

    /// Counts a hit, and logs it (at most one line a minute per limit; an idle connection closed is
    /// routine and only counted).
    func hit(_ limit: ListenerLimit) {
        counters[limit]?.increment()
        guard limit != .idleTimeout else { return }
        let now = ContinuousClock.now
        let shouldWarn = lastWarned.withLock { warned in
            if let last = warned[limit], now - last < Self.warningInterval { return false }
            warned[limit] = now
            return true
        }
        guard shouldWarn else { return }
        logger.warning(
            "\(socket) listener: a caller hit listen.\(limit.rawValue) (\(value(of: limit))); counted in \(MetricName.limitHits), logged at most once a minute",
            metadata: ["socket": "\(socket)", "limit": "\(limit.rawValue)"]
        )
    }

    /// The configured value of `limit`, as the log shows it.
    private func value(of limit: ListenerLimit) -> String {
        switch limit {
        case .maxMessageSize: "\(limits.maxMessageSize) bytes"
        case .maxStreamsPerConnection: "\(limits.maxStreamsPerConnection)"
        case .maxConnections: "\(limits.maxConnections)"
        case .maxHeaderSize: "\(limits.maxHeaderSize) bytes"
        case .maxRequestBody: "\(limits.maxRequestBody) bytes"
        case .idleTimeout: "\(limits.idleTimeout)"
        case .readTimeout: "\(limits.readTimeout)"
        }
    }
}
