import Foundation

/// One line of a run's story: what happened, when, told from what was measured.
struct StoryEvent: Codable, Sendable, Equatable {
    /// Seconds since the run's start.
    var t: Double
    var text: String
}

/// Tells a run as it happened. Every time and every number comes from the run's samples: the load
/// generator's page requests, Orders' pool and the agent's state, and the moments Payments was
/// switched.
enum Story {
    static func events(_ run: RunRecord, figures: RunFigures) -> [StoryEvent] {
        var events: [StoryEvent] = []
        let latency = Format.seconds(run.settings.sickLatency)
        events.append(
            StoryEvent(t: run.sickAt, text: "Payments turns sick: each call now waits \(latency), then gets a 500")
        )
        events += saturation(run)
        events += pageFailures(.inventory, run, figures: figures)
        events += pageFailures(.order, run, figures: figures)
        events += breaker(run, figures: figures)
        events += levels(run)
        events.append(StoryEvent(t: run.healAt, text: "Payments heals: it answers at once again"))
        events += release(run)
        events.append(summary(run, figures: figures))
        return events.enumerated().sorted { ($0.element.t, $0.offset) < ($1.element.t, $1.offset) }.map(\.element)
    }

    /// The most workers waiting on Payments at once during the incident, at the first sample that saw it.
    private static func saturation(_ run: RunRecord) -> [StoryEvent] {
        let stats = run.orders.filter { $0.t >= run.sickAt && $0.t < run.healAt }
        guard let most = stats.map(\.onPayments).max(), most > 0,
            let first = stats.first(where: { $0.onPayments == most })
        else { return [] }
        let text =
            most >= first.workers
            ? "\(most) of \(first.workers) workers are waiting on Payments: Orders has no worker left for any page"
            : "at most \(most) of \(first.workers) workers wait on Payments at once; \(first.workers - most) stay free"
        return [StoryEvent(t: first.t, text: text)]
    }

    /// When a page started failing after Payments turned sick, and when it answered again.
    private static func pageFailures(_ page: Sample.Page, _ run: RunRecord, figures: RunFigures) -> [StoryEvent] {
        let samples = run.samples.filter { $0.page == page && $0.sentAt >= run.sickAt }.sorted { $0.sentAt < $1.sentAt }
        let name = page == .inventory ? "the Inventory page" : "the order page"
        guard let firstFailure = samples.first(where: { !$0.succeeded }) else {
            return []
        }
        var why = Format.failure(firstFailure)
        if page == .inventory { why += ", though it never calls Payments" }
        var events = [StoryEvent(t: firstFailure.sentAt, text: "\(name) starts failing (\(why))")]
        if let lastFailure = samples.last(where: { !$0.succeeded }),
            let recovered = samples.first(where: { $0.sentAt > lastFailure.sentAt && $0.succeeded })
        {
            let during = Format.percent(figures.during.page(page).successPercent)
            events.append(
                StoryEvent(
                    t: recovered.sentAt,
                    text: "\(name) answers again (it succeeded \(during) of the time while Payments was sick)"
                )
            )
        }
        return events
    }

    /// The payments breaker's transitions, with the failures that opened it and how fast the fallback was.
    private static func breaker(_ run: RunRecord, figures: RunFigures) -> [StoryEvent] {
        guard let breaker = figures.breaker else { return [] }
        var events: [StoryEvent] = []
        var opened = false
        // After the first failed probe, the next ones while Payments is still sick make one line.
        var failedProbes: [Double] = []
        for transition in breaker.transitions {
            let repeatedProbe = !failedProbes.isEmpty && transition.t < run.healAt
            if transition.from == "half_open" && transition.to == "open" {
                failedProbes.append(transition.t)
                if failedProbes.count > 1 { continue }
            } else if transition.to == "half_open" && repeatedProbe {
                continue
            }
            let text: String
            switch (transition.from, transition.to) {
            case (_, "open") where !opened:
                opened = true
                var line =
                    "the payments breaker is open (\(breaker.failuresBeforeOpen) calls to Payments failed before); "
                    + "Payments calls now get the fallback at once"
                if let fallback = figures.fallbackWhileOpen, let p99 = fallback.refusedP99Ms {
                    line += " (p99 \(Format.milliseconds(p99)) over \(fallback.refusedByBreaker) calls)"
                }
                text = line
            case ("half_open", "open"):
                text = "the probe failed: the payments breaker opens again for \(Format.seconds(breaker.openFor))"
            case (_, "half_open"):
                text = "the payments breaker goes half-open and lets one probe through to Payments"
            case (_, "closed") where transition.t >= run.healAt:
                text =
                    "a probe succeeds: the payments breaker closes, "
                    + "\(Format.seconds(transition.t - run.healAt)) after Payments healed"
            case (_, "closed"):
                text = "the payments breaker closes"
            default:
                text = "the payments breaker goes from \(transition.from) to \(transition.to)"
            }
            events.append(StoryEvent(t: transition.t, text: text))
        }
        if failedProbes.count > 1, let last = failedProbes.last {
            let more = failedProbes.count - 1
            let every = (last - failedProbes[0]) / Double(more)
            events.append(
                StoryEvent(
                    t: last,
                    text:
                        "\(more) more probe\(more == 1 ? "" : "s") failed, one every \(String(format: "%.1f s", every)): "
                        + "the breaker keeps Payments' sickness away from Orders"
                )
            )
        }
        return events
    }

    /// Changes of the service level the agent reports.
    private static func levels(_ run: RunRecord) -> [StoryEvent] {
        var events: [StoryEvent] = []
        var previous: String?
        for stat in run.agent {
            if let last = previous, last != stat.level {
                let why = stat.level == "full" ? "" : " (payments breaker open: orders take payment later)"
                events.append(
                    StoryEvent(t: stat.t, text: "the service level goes \(stat.level.uppercased())\(why)")
                )
            }
            previous = stat.level
        }
        return events
    }

    /// When Orders' workers were released by Payments after the healing.
    private static func release(_ run: RunRecord) -> [StoryEvent] {
        let heldAtHeal = run.orders.last { $0.t <= run.healAt }?.onPayments ?? 0
        guard heldAtHeal > 1,
            let free = run.orders.first(where: { $0.t > run.healAt && $0.onPayments == 0 })
        else { return [] }
        return [
            StoryEvent(
                t: free.t,
                text:
                    "the last of the \(heldAtHeal) workers held by Payments is free: calls made while it was sick "
                    + "still waited their \(Format.seconds(run.settings.sickLatency))"
            )
        ]
    }

    /// How the Inventory page fared through the incident, against its baseline.
    private static func summary(_ run: RunRecord, figures: RunFigures) -> StoryEvent {
        let before = figures.before.inventory
        let during = figures.during.inventory
        let keepsItsLatency = (during.p99Ms ?? 0) <= 1.2 * (before.p99Ms ?? 0) + 5
        let verdict =
            during.successPercent < 99.9
            ? "is dragged down by Payments"
            : keepsItsLatency ? "is unaffected" : "answers every request, though slower at the tail"
        return StoryEvent(
            t: run.healAt,
            text:
                "while Payments was sick the Inventory page \(verdict): \(Format.percent(during.successPercent)) "
                + "success, p99 \(Format.milliseconds(during.p99Ms)) (before: \(Format.percent(before.successPercent)), "
                + "p99 \(Format.milliseconds(before.p99Ms)))"
        )
    }
}

extension PhaseFigures {
    func page(_ page: Sample.Page) -> PageFigures {
        switch page {
        case .order: order
        case .inventory: inventory
        }
    }
}

/// How the story, the table and the chart write numbers.
enum Format {
    static func seconds(_ value: Double) -> String {
        value.rounded() == value ? "\(Int(value)) s" : String(format: "%.1f s", value)
    }

    static func time(_ value: Double) -> String { String(format: "t=%.1fs", value) }

    static func percent(_ value: Double) -> String {
        value >= 99.95 || value == 0 ? String(format: "%.0f %%", value) : String(format: "%.1f %%", value)
    }

    static func milliseconds(_ value: Double?) -> String {
        guard let value else { return "-" }
        return value >= 100 ? String(format: "%.0f ms", value) : String(format: "%.1f ms", value)
    }

    static func failure(_ sample: Sample) -> String {
        switch sample.status {
        case 0: "no answer within the client's timeout"
        case 503: "Orders answers 503: no worker free"
        default: "Orders answers \(sample.status)"
        }
    }
}
