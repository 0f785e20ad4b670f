/// Decompresses Go `compress/lzw` output in LSB order with 8-bit literals, as memberlist's
/// `decompressPayload` (util.go) reads it.
///
/// The decoder mirrors Go's `lzw.Reader.decode` (compress/lzw/reader.go): codes start at 9 bits and
/// grow when the next free code reaches 2^width, up to 12; at 12 bits the table freezes until a
/// clear code; a code above the next free one is invalid; the input must end with the EOF code
/// (Go reports `io.ErrUnexpectedEOF` otherwise, and memberlist drops the message). Bytes after the
/// EOF code are ignored. Output is capped at `maxOutputBytes` so a small input cannot expand into
/// gigabytes.
public enum LZWReader {
    private static let literalWidth = 8
    private static let maxWidth = 12
    private static let clearCode = 1 << literalWidth
    private static let eofCode = clearCode + 1
    private static let tableSize = 1 << maxWidth

    public static func decompress(_ input: [UInt8], maxOutputBytes: Int) throws(WireError) -> [UInt8] {
        var suffix = [UInt8](repeating: 0, count: tableSize)
        var prefix = [UInt16](repeating: 0, count: tableSize)
        var scratch = [UInt8](repeating: 0, count: tableSize)
        var output: [UInt8] = []
        output.reserveCapacity(min(maxOutputBytes, input.count * 3))

        var width = literalWidth + 1
        var hi = eofCode
        var overflow = 1 << width
        var last: Int? = nil
        var bits: UInt32 = 0
        var bitCount = 0
        var position = 0

        while true {
            while bitCount < width {
                guard position < input.count else {
                    throw WireError(.decompressionFailed, field: "compress.Buf", "LZW data ends without an EOF code")
                }
                bits |= UInt32(input[position]) << UInt32(bitCount)
                position += 1
                bitCount += 8
            }
            let code = Int(bits & UInt32((1 << width) - 1))
            bits >>= UInt32(width)
            bitCount -= width

            if code == clearCode {
                width = literalWidth + 1
                hi = eofCode
                overflow = 1 << width
                last = nil
                continue
            }
            if code == eofCode {
                return output
            }
            guard code <= hi else {
                throw WireError(
                    .decompressionFailed,
                    field: "compress.Buf",
                    "invalid LZW code \(code) (next free \(hi))"
                )
            }
            // Expand the code into the tail of `scratch`, right to left, as Go's reader does.
            var index = tableSize - 1
            var chain = code
            if code < clearCode {
                scratch[index] = UInt8(code)
            } else {
                if code == hi, let previous = last {
                    // The KwKwK case: the code being defined now is the previous string plus its
                    // own first byte; write that first byte last and expand the previous code.
                    var walk = previous
                    while walk >= clearCode {
                        walk = Int(prefix[walk])
                    }
                    scratch[index] = UInt8(walk)
                    index -= 1
                    chain = previous
                }
                // `code == hi` without a previous code happens only while the table is frozen at 12
                // bits, when entry `hi` is already defined: Go expands it like any other code.
                while chain >= clearCode {
                    scratch[index] = suffix[chain]
                    index -= 1
                    chain = Int(prefix[chain])
                }
                scratch[index] = UInt8(chain)
            }
            let expansion = scratch[index...]
            guard output.count + expansion.count <= maxOutputBytes else {
                throw WireError(
                    .limitExceeded,
                    field: "compress.Buf",
                    "LZW output exceeds \(maxOutputBytes) bytes"
                )
            }
            output.append(contentsOf: expansion)
            if let previous = last {
                // The new entry is the previous string plus this string's first byte.
                suffix[hi] = scratch[index]
                prefix[hi] = UInt16(previous)
            }
            last = code
            hi += 1
            if hi >= overflow {
                if width == maxWidth {
                    last = nil
                    hi -= 1
                } else {
                    width += 1
                    overflow <<= 1
                }
            }
        }
    }
}
