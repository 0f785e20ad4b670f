/// Polls `condition` every `interval` until it holds or `timeout` passes; returns whether it held
/// (asked once more at the end). The one bounded poll of the test suites: tests wait for a condition,
/// never for a fixed time. Throws only when the task is cancelled or `condition` throws.
public func eventually(
    within timeout: Duration = .seconds(10),
    every interval: Duration = .milliseconds(10),
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: interval)
    }
    return try await condition()
}
