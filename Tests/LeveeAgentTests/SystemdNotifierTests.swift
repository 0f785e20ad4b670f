import Foundation
import LeveeAgent
import LeveeTestKit
import Testing

/// The sd_notify protocol's sending side, against a datagram socket standing in for systemd.
struct SystemdNotifierTests {
    @Test("each notification is the datagram sd_notify(3) describes")
    func messages() {
        #expect(SystemdNotifier.Notification.ready.message == "READY=1")
        #expect(SystemdNotifier.Notification.stopping.message == "STOPPING=1")
        #expect(SystemdNotifier.Notification.watchdog.message == "WATCHDOG=1")
        #expect(
            SystemdNotifier.Notification.reloading(monotonicMicroseconds: 1_234_567).message
                == "RELOADING=1\nMONOTONIC_USEC=1234567"
        )
    }

    @Test(
        "NOTIFY_SOCKET and WATCHDOG_USEC decide whether and how often to tell",
        arguments: [
            ([:], false, nil),
            (["NOTIFY_SOCKET": "relative/notify"], false, nil),
            (["NOTIFY_SOCKET": "/run/systemd/notify"], true, nil),
            (["NOTIFY_SOCKET": "@abstract", "WATCHDOG_USEC": "30000000"], true, Duration.seconds(15)),
            (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "4242"], true, .seconds(1)),
            (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"], true, nil),
            (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "0"], true, nil),
        ] as [([String: String], Bool, Duration?)]
    )
    func environment(environment: [String: String], notifies: Bool, watchdog: Duration?) {
        let notifier = SystemdNotifier(environment: environment, processID: 4242)
        #expect((notifier != nil) == notifies)
        #expect(notifier?.watchdogInterval == watchdog)
    }

    @Test("datagrams reach a socket named by a path and one with an abstract name", arguments: [false, true])
    func sends(abstract: Bool) async throws {
        let systemd = try NotifySocket(
            path: "/tmp/levee-notify-\(UInt32.random(in: .min ... .max))",
            abstract: abstract
        )
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": systemd.name]))
        #expect(notifier.send(.ready))
        #expect(notifier.send(.reloading(monotonicMicroseconds: SystemdNotifier.monotonicMicroseconds())))
        #expect(notifier.send(.stopping))
        #expect(try await eventually { systemd.messages.count == 3 })
        let messages = systemd.messages
        #expect(messages.first == "READY=1")
        #expect(messages.dropFirst().first?.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") == true)
        #expect(messages.last == "STOPPING=1")
    }

    @Test("MONOTONIC_USEC is CLOCK_MONOTONIC, the clock systemd compares it with")
    func monotonicClock() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let before = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
        let sample = SystemdNotifier.monotonicMicroseconds()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let after = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
        #expect(before <= sample && sample <= after)
    }

    @Test("with nobody listening, sending fails quietly")
    func nobodyListens() {
        let notifier = SystemdNotifier(environment: [
            "NOTIFY_SOCKET": "/tmp/levee-nobody-\(UInt32.random(in: .min ... .max))"
        ])
        #expect(notifier?.send(.ready) == false)
    }
}
