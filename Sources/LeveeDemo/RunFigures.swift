/// What a run measured, reduced to the figures the story, the table, the chart and `--json` show.
struct RunFigures: Codable, Sendable, Equatable {
    var mode: DemoMode
    /// Orders' pool size.
    var workers: Int
    var sickAt: Double
    var healAt: Double
    var end: Double
    var before: PhaseFigures
    var during: PhaseFigures
    var after: PhaseFigures
    /// The protected run's payments breaker, and its fallback answers while open.
    var breaker: BreakerFigures?
    var fallbackWhileOpen: FallbackFigures?
    var story: [StoryEvent]
    /// Success and p99 per page over time, for the chart.
    var series: [SeriesPoint]

    init(_ run: RunRecord) {
        mode = run.mode
        workers = run.settings.workers
        sickAt = run.sickAt
        healAt = run.healAt
        end = run.end
        before = PhaseFigures(.before, of: run)
        during = PhaseFigures(.during, of: run)
        after = PhaseFigures(.after, of: run)
        if run.mode == .protected {
            let breaker = BreakerFigures(run)
            self.breaker = breaker
            fallbackWhileOpen = breaker.openedAt.map { FallbackFigures(run, openedAt: $0) }
        }
        series = SeriesPoint.series(run, bin: 0.5)
        story = []
        story = Story.events(run, figures: self)
    }

    func phase(_ phase: Phase) -> PhaseFigures {
        switch phase {
        case .before: before
        case .during: during
        case .after: after
        }
    }
}

/// One page's figures over one bin of time (by when the requests were sent).
struct SeriesPoint: Codable, Sendable, Equatable {
    var page: Sample.Page
    /// The bin's start, in seconds since the run's start.
    var t: Double
    var requests: Int
    var successPercent: Double
    var p99Ms: Double?

    static func series(_ run: RunRecord, bin: Double) -> [SeriesPoint] {
        let bins = Int((run.end / bin).rounded(.up))
        guard bins > 0 else { return [] }
        var grouped: [Sample.Page: [[Sample]]] = [:]
        for page in Sample.Page.allCases { grouped[page] = Array(repeating: [], count: bins) }
        for sample in run.samples {
            let index = min(max(Int(sample.sentAt / bin), 0), bins - 1)
            grouped[sample.page]?[index].append(sample)
        }
        return Sample.Page.allCases.flatMap { page in
            (grouped[page] ?? []).enumerated().compactMap { index, samples -> SeriesPoint? in
                guard !samples.isEmpty else { return nil }
                let figures = PageFigures(samples)
                return SeriesPoint(
                    page: page,
                    t: Double(index) * bin,
                    requests: samples.count,
                    successPercent: figures.successPercent,
                    p99Ms: figures.p99Ms
                )
            }
        }
    }
}
