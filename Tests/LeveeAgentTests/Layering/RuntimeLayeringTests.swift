import Foundation
import Testing

/// The runtime speaks domain types; the Guard and Admin APIs' types and errors stay in `Services/`
/// (DESIGN.md: "proto types live only in the services").
@Suite struct RuntimeLayeringTests {
    static let runtime = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/LeveeAgent/Runtime")

    @Test("Nothing under Sources/LeveeAgent/Runtime names a Levee_V1_ type, RPCError or the API module")
    func runtimeNamesNoWireType() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.runtime.path).filter {
            $0.hasSuffix(".swift")
        }
        #expect(files.count > 5)
        for file in files {
            let text = try String(contentsOf: Self.runtime.appendingPathComponent(file), encoding: .utf8)
            for forbidden in ["Levee_V1_", "RPCError", "import LeveeAPI", "import GRPCCore"] {
                #expect(!text.contains(forbidden), "\(file) names \(forbidden)")
            }
        }
    }
}
