import LeveeGossip
import Testing

/// The reader accepts every valid width, as go-msgpack's decoder does, and refuses hostile input.
struct MsgpackReaderTests {
    @Test(
        "any integer width decodes to the same value",
        arguments: ["07", "cc07", "cd0007", "ce00000007", "cf0000000000000007", "d007", "d10007", "d200000007"]
    )
    func lenientIntegers(encoded: String) throws {
        var reader = MsgpackReader(hex(encoded))
        #expect(try reader.readValue().unsigned(UInt32.self, field: "x") == 7)
    }

    @Test("str8 and bin read as raw bytes", arguments: ["d903616263", "c403616263", "c50003616263", "a3616263"])
    func lenientStrings(encoded: String) throws {
        var reader = MsgpackReader(hex(encoded))
        #expect(try reader.readValue().string(field: "x") == "abc")
    }

    @Test("a value that does not fit the field is a type mismatch")
    func overflow() throws {
        var reader = MsgpackReader(hex("ce00010000"))
        let value = try reader.readValue()
        #expect(throws: WireError.self) { try value.unsigned(UInt16.self, field: "Port") }
        #expect(throws: WireError.self) { try MsgpackValue.int(-1).unsigned(UInt32.self, field: "SeqNo") }
        #expect(throws: WireError.self) { try MsgpackValue.raw([1]).bool(field: "Nack") }
    }

    @Test(
        "hostile msgpack is rejected with the right code",
        arguments: [
            ("c1", WireError.Code.invalidMsgpack),
            ("dbffffffff", .truncated),
            ("ddffffffff", .limitExceeded),
            ("dfffffffff", .limitExceeded),
            ("dc0100", .truncated),
            ("cd01", .truncated),
            ("", .truncated),
        ]
    )
    func hostile(encoded: String, code: WireError.Code) {
        var reader = MsgpackReader(hex(encoded))
        #expect {
            _ = try reader.readValue()
        } throws: { error in
            (error as? WireError)?.code == code
        }
    }

    @Test("nesting is bounded")
    func depth() {
        var reader = MsgpackReader([UInt8](repeating: 0x91, count: 100) + [0xc0])
        #expect {
            _ = try reader.readValue()
        } throws: { error in
            (error as? WireError)?.code == .limitExceeded
        }
    }

    @Test("values round-trip through the writer")
    func roundTrip() throws {
        let value = MsgpackValue.map([
            (.string("a"), .array([.nil, .bool(true), .uint(300), .int(-5), .float64(1.5), .float32(2)])),
            (.string("b"), .ext(type: 3, data: [1, 2, 3, 4])),
            (.uint(1), .raw(Array(repeating: 9, count: 40))),
        ])
        var writer = MsgpackWriter()
        writer.write(value)
        var reader = MsgpackReader(writer.bytes)
        #expect(try reader.readValue() == value)
        #expect(reader.offset == writer.bytes.count)
    }

    @Test("struct decoding ignores unknown keys and order, and zeroes missing fields")
    func lenientStruct() throws {
        var writer = MsgpackWriter()
        writer.writeMapHeader(2)
        writer.writeString("Unknown")
        writer.write(.array([.uint(1)]))
        writer.writeString("SeqNo")
        writer.writeUnsigned(9)
        let ack = try Ack(msgpackBytes: writer.bytes)
        #expect(ack == Ack(seqNo: 9, payload: nil))
        let ping = try Ping(msgpackBytes: [0x80])
        #expect(ping == Ping(seqNo: 0, node: ""))
    }
}
