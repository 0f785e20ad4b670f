import Dispatch
import Foundation
import Synchronization

// Exercises what a static Swift binary must carry: Foundation (JSON, dates, process info),
// Dispatch, Synchronization and the concurrency runtime.
let counter = Mutex(0)
await withTaskGroup(of: Void.self) { group in
    for _ in 0..<4 { group.addTask { counter.withLock { $0 += 1 } } }
}
let done = DispatchSemaphore(value: 0)
DispatchQueue.global().async { done.signal() }
done.wait()
let report: [String: Any] = [
    "tasks": counter.withLock { $0 },
    "pid": Int(ProcessInfo.processInfo.processIdentifier),
    "date": ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: 0)),
]
let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
print(String(decoding: data, as: UTF8.self))
