import Benchmark
import LeveePolicy

let benchmarks: @Sendable () -> Void = {
    Benchmark("SplitMix64 next") { benchmark in
        var rng = SplitMix64(seed: 1)
        for _ in benchmark.scaledIterations {
            blackHole(rng.next())
        }
    }
}
