/// Whether a request may be sent twice without harm (DESIGN.md "Retries": only what is safe is
/// retried, except a connect failure, which sent nothing).
public enum RequestIdempotency {
    /// Whether an HTTP request is idempotent: its method is one RFC 9110 §9.2.2 defines as idempotent
    /// (GET, HEAD, OPTIONS, PUT, DELETE, TRACE; method names are case-sensitive, §9.1), or the caller
    /// gave an idempotency key (the IETF `Idempotency-Key` header draft), which makes any method safe to
    /// repeat.
    public static func isIdempotent(httpMethod: some StringProtocol, hasIdempotencyKey: Bool) -> Bool {
        if hasIdempotencyKey { return true }
        switch httpMethod {
        case "GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE": return true
        default: return false
        }
    }
}
