/// One page request of the load generator, as it saw it.
struct Sample: Codable, Sendable, Equatable {
    /// The two pages of Orders that the load generator asks for.
    enum Page: String, Codable, Sendable, CaseIterable {
        /// `/order`: Inventory, then Payments.
        case order
        /// `/inventory`: Inventory only; it never calls Payments.
        case inventory
    }

    var page: Page
    /// When the request was sent, in seconds since the run's start.
    var sentAt: Double
    /// From sending the request to the end of the answer (or to the client's timeout).
    var latencyMs: Double
    /// The answer's status; 0 when no answer came within the client's timeout.
    var status: Int
    /// For the order page: how Orders' call to Payments went.
    var payment: PaymentCall?

    /// A page succeeds when Orders answers 200 (an order whose payment is pending is still served).
    var succeeded: Bool { status == 200 }
}

/// Orders' call to Payments behind one order page, as Orders reports it in its answer's headers.
struct PaymentCall: Codable, Sendable, Equatable {
    /// `ok` (Payments answered), `fallback` (the agent answered for it), `failed`.
    var result: String
    /// The agent's `x-levee-outcome` (`ok`, `timeout`, `circuit_open`, …), or `direct` without an agent.
    var outcome: String
    /// How long the call took, as Orders measured it.
    var ms: Double

    var isFallback: Bool { result == "fallback" }
}
