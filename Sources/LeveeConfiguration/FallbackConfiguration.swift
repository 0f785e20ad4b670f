/// What an upstream answers when a call fails: the `fallback` section (DESIGN.md "Fallback").
///
/// A stale response is preferred to the static one; with neither, a failed call is reported as it
/// failed.
public struct FallbackConfiguration: Sendable, Hashable {
    /// Serve the last good response for the same key (`stale`), or nil for none.
    public var stale: StaleFallbackConfiguration?
    /// Serve a fixed answer (`static`), or nil for none.
    public var `static`: StaticFallbackConfiguration?
    /// The outcomes that are answered with a fallback (`on`, default all of them: every outcome but
    /// `OK`, DESIGN.md).
    public var on: Set<FallbackTrigger>

    public init(
        stale: StaleFallbackConfiguration? = nil,
        static: StaticFallbackConfiguration? = nil,
        on: Set<FallbackTrigger> = Set(FallbackTrigger.allCases)
    ) {
        self.stale = stale
        self.static = `static`
        self.on = on
    }

    /// No fallback: what an upstream without a `fallback` section gets.
    public static let none = FallbackConfiguration()

    /// Whether a fallback of either kind is configured.
    public var isEnabled: Bool {
        stale != nil || `static` != nil
    }
}
