/// Whether one more attempt fits, and after how long (`RetryPolicy.scheduleRetry`).
public enum RetrySchedule: Hashable, Sendable {
    /// Wait this long, then make the attempt.
    case wait(Duration)
    /// No attempt fits, for this reason.
    case refused(RetryStopReason)
}
