/// Polls `condition` every 50 ms until it holds, at most `timeout`; whether it held.
func pollUntil(within timeout: Duration = .seconds(15), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}
