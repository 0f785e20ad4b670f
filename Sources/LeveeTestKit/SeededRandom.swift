public import LeveePolicy

/// A random number generator that repeats its sequence for the same seed, so a failing test fails the
/// same way each run. The seed is part of the test's text.
public typealias SeededRandom = SplitMix64
