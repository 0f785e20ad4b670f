import LeveeGossip
import Testing

/// go-msgpack 0.5.5's choice of widths (codec/msgpack.go `msgpackEncDriver`).
struct MsgpackWriterTests {
    @Test(
        "non-negative integers take the smallest unsigned form, signed or not",
        arguments: [
            (Int64(0), "00"), (127, "7f"), (128, "cc80"), (255, "ccff"), (256, "cd0100"), (7947, "cd1f0b"),
            (65535, "cdffff"), (65536, "ce00010000"), (2_000_000_000, "ce77359400"),
            (4_294_967_296, "cf0000000100000000"),
        ]
    )
    func unsignedWidths(value: Int64, expected: String) {
        var signed = MsgpackWriter()
        signed.writeSigned(value)
        var unsigned = MsgpackWriter()
        unsigned.writeUnsigned(UInt64(value))
        #expect(signed.bytes.hexString == expected)
        #expect(unsigned.bytes.hexString == expected)
    }

    @Test(
        "negative integers",
        arguments: [
            (Int64(-1), "ff"), (-32, "e0"), (-33, "d0df"), (-128, "d080"), (-129, "d1ff7f"), (-32768, "d18000"),
            (-32769, "d2ffff7fff"), (Int64.min, "d38000000000000000"),
        ]
    )
    func negativeWidths(value: Int64, expected: String) {
        var writer = MsgpackWriter()
        writer.writeSigned(value)
        #expect(writer.bytes.hexString == expected)
    }

    @Test("strings and bytes use the raw family only: fixstr, da, db", arguments: [0, 31, 32, 255, 65535, 65536])
    func rawWidths(count: Int) throws {
        var writer = MsgpackWriter()
        writer.writeRaw([UInt8](repeating: 0x61, count: count))
        let header: String
        switch count {
        case ..<32: header = [UInt8(0xa0 | count)].hexString
        case ...65535: header = "da" + [UInt8(count >> 8), UInt8(count & 0xff)].hexString
        default: header = "db" + [0, UInt8(count >> 16), UInt8((count >> 8) & 0xff), UInt8(count & 0xff)].hexString
        }
        #expect(writer.bytes.prefix(header.count / 2).map { $0 }.hexString == header)
        var reader = MsgpackReader(writer.bytes)
        #expect(try reader.readValue() == .raw([UInt8](repeating: 0x61, count: count)))
    }

    @Test("nil bytes are c0, empty bytes a0")
    func nilAndEmpty() {
        var writer = MsgpackWriter()
        writer.writeRawOrNil(nil)
        writer.writeRawOrNil([])
        writer.writeArrayHeader(0)
        #expect(writer.bytes.hexString == "c0a090")
    }

    @Test("container headers", arguments: [(15, "8f", "9f"), (16, "de0010", "dc0010"), (512, "de0200", "dc0200")])
    func containers(count: Int, map: String, array: String) {
        var m = MsgpackWriter()
        m.writeMapHeader(count)
        var a = MsgpackWriter()
        a.writeArrayHeader(count)
        #expect(m.bytes.hexString == map)
        #expect(a.bytes.hexString == array)
    }
}
