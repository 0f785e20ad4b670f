import ArgumentParser

/// `levee version`: the binary's version, for bug reports and fleet checks.
struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version of this levee binary.")

    func run() {
        print("levee \(LeveeVersion.current)")
    }
}
