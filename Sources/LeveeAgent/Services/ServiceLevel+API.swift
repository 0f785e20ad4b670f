public import LeveeAPI
public import LeveePolicy

extension Levee_V1_ServiceLevel {
    /// The API's spelling of a level.
    public init(_ level: ServiceLevel) {
        switch level {
        case .full: self = .full
        case .degraded: self = .degraded
        case .minimal: self = .minimal
        }
    }
}

extension Levee_V1_ServiceLevelState {
    /// The API's spelling of a verdict: the level and its reasons.
    public init(_ verdict: ServiceLevelVerdict) {
        self.init()
        level = Levee_V1_ServiceLevel(verdict.level)
        reasons = verdict.reasons
    }
}
