import LeveeAgent
import NIOCore
import NIOPosix
import Testing

/// The Guard handlers' executor: jobs stay on the event loop that woke them.
@Suite(.timeLimit(.minutes(1)))
struct EventLoopTaskExecutorTests {
    @Test("A task under the preference runs on a loop of the group, also when started off every loop")
    func runsOnTheGroup() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let onLoop = await withTaskExecutorPreference(EventLoopTaskExecutor(group: group)) {
            await Task.yield()
            return loops.contains { $0.inEventLoop }
        }
        #expect(onLoop)
        try await group.shutdownGracefully()
    }

    @Test("A task resumed by a loop, and the child tasks it then starts, continue on that loop")
    func staysOnTheWakingLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        for loop in group.makeIterator() {
            let (resumedOnLoop, childrenOnLoop) = await withTaskExecutorPreference(
                EventLoopTaskExecutor(group: group)
            ) {
                await withCheckedContinuation { continuation in
                    loop.execute { continuation.resume() }
                }
                let resumedOnLoop = loop.inEventLoop
                let childrenOnLoop = await withTaskGroup(of: Bool.self) { children in
                    for _ in 0..<4 {
                        children.addTask { loop.inEventLoop }
                    }
                    return await children.reduce(true) { $0 && $1 }
                }
                return (resumedOnLoop, childrenOnLoop)
            }
            #expect(resumedOnLoop)
            #expect(childrenOnLoop)
        }
        try await group.shutdownGracefully()
    }
}
