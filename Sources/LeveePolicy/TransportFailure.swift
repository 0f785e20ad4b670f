/// What went wrong below the protocol, when an attempt got no status at all.
public enum TransportFailure: Hashable, Sendable {
    /// No connection could be made (refused, unreachable, TLS handshake failed): nothing was sent.
    case connectFailure
    /// The connection broke (reset, closed early, HTTP/2 stream reset) after the request may have
    /// been sent.
    case reset
    /// The attempt's own timeout passed before the answer came.
    case timeout
    /// The application gave up on the call (it cancelled, or its deadline was spent locally): says
    /// nothing about the upstream, so it is never recorded (DESIGN.md "Circuit breaker").
    case cancelledByCaller
}
