/// What a ``TestHTTPServer`` does with a request: answer, answer late, drop the connection, or echo.
///
/// The server reads the behaviour when a request's head arrives, so a change applies to the next
/// request, never to one already stalling.
public enum TestHTTPBehaviour: Sendable {
    /// Answers `status` with `headers` and a UTF-8 `body`; the server adds `content-length`.
    case respond(status: Int, headers: [(String, String)] = [], body: String = "")
    /// Answers `status` with `headers` and a binary `body`; the server adds `content-length`.
    case respondBytes(status: Int, headers: [(String, String)] = [], body: [UInt8])
    /// Reads the whole request, waits `duration` without blocking the event loop, then behaves as
    /// `then`. The wait ends early, answering nothing, when the connection closes or the server stops.
    indirect case stall(Duration, then: TestHTTPBehaviour)
    /// Sends the response head of `status` announcing `body`, then waits `duration` before the body:
    /// an upstream that stalls halfway through its answer. The wait ends early when the connection
    /// closes or the server stops.
    case stallBody(Duration, status: Int, body: String)
    /// Resets the connection (TCP RST, `SO_LINGER` 0) as soon as the request head arrives, with no
    /// response: what a client sees when an upstream process crashes mid-request.
    case reset
    /// Closes the connection cleanly (FIN) as soon as the request head arrives, with no response: what
    /// a client sees when an upstream drops an idle keep-alive connection it was about to reuse.
    case close
    /// Answers 200 with the request body, and the request's method and path in `x-echo-method` and
    /// `x-echo-path`.
    case echo

    /// 200 with an empty body.
    public static let ok = TestHTTPBehaviour.respond(status: 200)
}
