/// Compresses exactly as Go's `compress/lzw.NewWriter(w, lzw.LSB, 8)` followed by one `Write` and
/// `Close` (memberlist util.go `compressPayload`), so our output is byte-identical to a Go agent's.
///
/// The rules, from compress/lzw/writer.go (Go 1.19, the version Debian's serf is built with):
/// - the first `Write` of non-empty input emits a clear code (256) before anything else;
/// - codes start at 9 bits; the next free code starts at 258 and, when it reaches 2^width, the width
///   grows; when it reaches 4095 a clear code is written at the current width and the table resets;
/// - `Close` writes the pending code, bumps the free code (which may widen the following code), then
///   the EOF code (257), then any partial byte. Empty input is a clear code then EOF.
public enum LZWWriter {
    private static let literalWidth: UInt32 = 8
    private static let maxCode: UInt32 = (1 << 12) - 1
    private static let tableSize = 4 * (1 << 12)
    private static let tableMask = UInt32(tableSize - 1)

    public static func compress(_ input: [UInt8]) -> [UInt8] {
        var state = State()
        let clear: UInt32 = 1 << literalWidth
        guard let first = input.first else {
            state.write(clear)
            state.write(clear + 1)
            state.flush()
            return state.output
        }
        state.write(clear)
        var code = UInt32(first)
        var table = [UInt32](repeating: 0, count: tableSize)
        outer: for byte in input.dropFirst() {
            let literal = UInt32(byte)
            let key = code << 8 | literal
            var hash = (key >> 12 ^ key) & tableMask
            var probe = hash
            while table[Int(probe)] != 0 {
                let entry = table[Int(probe)]
                if key == entry >> 12 {
                    code = entry & maxCode
                    continue outer
                }
                probe = (probe + 1) & tableMask
            }
            state.write(code)
            code = literal
            if state.incrementHi() {
                // Out of codes: the writer sent a clear code and starts a fresh table.
                table = [UInt32](repeating: 0, count: tableSize)
                continue
            }
            while table[Int(hash)] != 0 {
                hash = (hash + 1) & tableMask
            }
            table[Int(hash)] = key << 12 | state.hi
        }
        state.write(code)
        _ = state.incrementHi()
        state.write(clear + 1)
        state.flush()
        return state.output
    }

    /// The bit packer and code counter of Go's `lzw.Writer`.
    private struct State {
        var output: [UInt8] = []
        var bits: UInt32 = 0
        var bitCount: UInt32 = 0
        var width: UInt32 = LZWWriter.literalWidth + 1
        var hi: UInt32 = (1 << LZWWriter.literalWidth) + 1
        var overflow: UInt32 = 1 << (LZWWriter.literalWidth + 1)

        /// Go `writeLSB`.
        mutating func write(_ code: UInt32) {
            bits |= code << bitCount
            bitCount += width
            while bitCount >= 8 {
                output.append(UInt8(truncatingIfNeeded: bits))
                bits >>= 8
                bitCount -= 8
            }
        }

        /// Go `incHi`; returns true when it ran out of codes and reset (Go's `errOutOfCodes`).
        mutating func incrementHi() -> Bool {
            hi += 1
            if hi == overflow {
                width += 1
                overflow <<= 1
            }
            if hi == LZWWriter.maxCode {
                let clear: UInt32 = 1 << LZWWriter.literalWidth
                write(clear)
                width = LZWWriter.literalWidth + 1
                hi = clear + 1
                overflow = clear << 1
                return true
            }
            return false
        }

        mutating func flush() {
            if bitCount > 0 {
                output.append(UInt8(truncatingIfNeeded: bits))
            }
        }
    }
}
