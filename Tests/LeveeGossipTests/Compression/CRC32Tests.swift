import LeveeGossip
import Testing

struct CRC32Tests {
    @Test("the standard check value and the captured CRCs")
    func values() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
        #expect(CRC32.checksum(Golden.g3AliveWithCRC[5...]) == 0x46AC_D7DA)
        #expect(CRC32.checksum(Golden.g4UserEventWithCRC[5...]) == 0xA639_CC5A)
        #expect(CRC32.checksum(Golden.g5SuspectProbe[5...]) == 0x30EB_4E35)
        #expect(CRC32.checksum(Golden.g5DeadWithCRC[5...]) == 0xD807_913E)
    }
}
