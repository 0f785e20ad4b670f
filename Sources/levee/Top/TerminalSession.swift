import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The terminal while `levee top` owns it: the alternate screen, no cursor, and keys read one at a
/// time without Enter or echo. ``restore()`` puts everything back; the command calls it on every way out.
///
/// Only the local modes change (no ICANON, ECHO or ISIG: Ctrl-C arrives as a key); output processing
/// stays on, so `\n` still returns the carriage.
final class TerminalSession {
    private var saved: termios?
    private var active = false

    /// Whether standard output is a terminal: only then does `levee top` draw a screen.
    static var isOutputTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// Whether keys can be read: standard input is a terminal.
    static var isInputTerminal: Bool { isatty(STDIN_FILENO) == 1 }

    static let enterAlternateScreen = "\u{1B}[?1049h\u{1B}[?25l\u{1B}[H\u{1B}[2J"
    static let leaveAlternateScreen = "\u{1B}[?25h\u{1B}[?1049l"

    func enter() {
        guard !active else { return }
        active = true
        if Self.isInputTerminal {
            var attributes = termios()
            if tcgetattr(STDIN_FILENO, &attributes) == 0 {
                saved = attributes
                attributes.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG)
                // Reads never wait: the key reader polls.
                withUnsafeMutableBytes(of: &attributes.c_cc) { cc in
                    cc[Int(VMIN)] = 0
                    cc[Int(VTIME)] = 0
                }
                tcsetattr(STDIN_FILENO, TCSANOW, &attributes)
            }
        }
        Self.write(Self.enterAlternateScreen)
    }

    /// Leaves the alternate screen, shows the cursor and puts the saved terminal modes back; idempotent.
    func restore() {
        guard active else { return }
        active = false
        if var saved {
            tcsetattr(STDIN_FILENO, TCSANOW, &saved)
        }
        Self.write(Self.leaveAlternateScreen)
    }

    deinit { restore() }

    /// Columns and rows of the terminal on standard output; 80×24 when it does not say (a new pty).
    static func size() -> (columns: Int, rows: Int) {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else {
            return (80, 24)
        }
        return (Int(size.ws_col), Int(size.ws_row))
    }

    /// The bytes typed since the last call, without waiting.
    static func readKeys() -> [UInt8] {
        guard isInputTerminal else { return [] }
        var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) > 0, descriptor.revents & Int16(POLLIN) != 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(STDIN_FILENO, &buffer, buffer.count)
        return count > 0 ? Array(buffer.prefix(count)) : []
    }

    /// Draws `lines` from the top-left corner, each cut to `columns`, and clears what an earlier, longer
    /// frame left below.
    static func draw(_ lines: [TopLine], columns: Int) {
        var frame = "\u{1B}[H"
        for (index, line) in lines.enumerated() {
            let text = String(line.text.prefix(columns))
            switch line.style {
            case .plain: frame += text
            case .heading: frame += "\u{1B}[1m" + text + "\u{1B}[0m"
            case .alert: frame += "\u{1B}[31m" + text + "\u{1B}[0m"
            }
            frame += "\u{1B}[K"
            if index < lines.count - 1 { frame += "\r\n" }
        }
        frame += "\u{1B}[J"
        write(frame)
    }

    /// Writes all of `text` to standard output.
    static func write(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                Glibc.write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }
}
