public import LeveeConfiguration
public import Logging

/// Reads the configuration file again and swaps it in (`levee reload`, SIGHUP).
public struct Reloader: Sendable {
    let registry: UpstreamRegistry
    let load: @Sendable (String) throws -> AgentConfiguration
    let logger: Logger
    /// Told `RELOADING=1` then `READY=1` around each reload, when systemd runs the agent.
    let notifier: SystemdNotifier?

    public init(
        registry: UpstreamRegistry,
        logger: Logger,
        notifier: SystemdNotifier? = nil,
        load: @escaping @Sendable (String) throws -> AgentConfiguration
    ) {
        self.registry = registry
        self.load = load
        self.logger = logger
        self.notifier = notifier
    }

    /// Whether there is a file to reload: false when the agent runs on built-in defaults.
    public var hasFile: Bool {
        registry.configuration.sourcePath != nil
    }

    /// Validates the file and swaps it in; an invalid file changes nothing and the error names the key.
    /// Logs one line either way, saying what asked for the reload (`trigger`).
    public func reload(trigger: String = "levee reload") throws(ReloadError) -> UpstreamRegistry.ReloadSummary {
        let current = registry.configuration
        guard let path = current.sourcePath else { throw .noFile }
        // systemd ≥ 253 holds the unit in "reloading" until READY=1, which follows whatever the result:
        // a refused file leaves the agent serving on the configuration it had.
        notifier?.send(.reloading(monotonicMicroseconds: SystemdNotifier.monotonicMicroseconds()))
        defer { notifier?.send(.ready) }
        do {
            let next = try load(path)
            if !next.listen.sameListeners(as: current.listen) {
                logger.warning(
                    "reload: listen sockets or limits changed in \(path); they take effect at the next restart"
                )
            }
            let summary = try registry.reload(next)
            logger.notice(
                "configuration reloaded",
                metadata: [
                    "generation": "\(summary.generation)", "added": "\(summary.added)", "removed": "\(summary.removed)",
                    "changed": "\(summary.changed)", "unchanged": "\(summary.unchanged)", "trigger": "\(trigger)",
                ]
            )
            return summary
        } catch {
            logger.error("reload refused: \(error)", metadata: ["trigger": "\(trigger)"])
            throw .invalid("\(error)")
        }
    }
}

/// Why a reload changed nothing.
public enum ReloadError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The agent runs on built-in defaults: there is no file to read again.
    case noFile
    /// The file is invalid; the message names the file, the key path and what was expected.
    case invalid(String)

    public var description: String {
        switch self {
        case .noFile: "the agent runs on built-in defaults: there is no file to reload"
        case .invalid(let message): message
        }
    }
}
