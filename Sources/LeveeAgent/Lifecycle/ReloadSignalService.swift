import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the configuration file on SIGHUP, as daemons do: the same validated, atomic swap as
/// `levee reload`, with one log line per signal saying what changed or which key is wrong.
///
/// The signal is trapped by ``Agent/run()`` before any server runs (SIGHUP's default action ends the
/// process), and handed here; the service stops listening at graceful shutdown.
struct ReloadSignalService: Service {
    let hangups: UnixSignalsSequence
    let reloader: Reloader
    let logger: Logger

    func run() async {
        for await _ in hangups.cancelOnGracefulShutdown() {
            guard reloader.hasFile else {
                logger.notice("SIGHUP: the agent runs on built-in defaults: there is no configuration file to reload")
                continue
            }
            // The reloader logs the result, or the refusal with the file and key path.
            _ = try? reloader.reload(trigger: "SIGHUP")
        }
    }
}
