import SeededRandom
import Testing

// Reference values from the authors' C code (prng.di.unimi.it: splitmix64.c, xoshiro256starstar.c),
// compiled and run apart; the SplitMix64 ones are also Rosetta Code's published sequence for seed 1234567.

@Test func splitMix64MatchesTheReferenceImplementation() {
    var generator = SplitMix64(seed: 1_234_567)
    let drawn = (0..<5).map { _ in generator.next() }
    #expect(drawn == [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
                      4_593_380_528_125_082_431, 16_408_922_859_458_223_821])
}

@Test func xoshiro256StarStarSeededBySplitMix64MatchesTheReferenceImplementation() {
    var generator = Xoshiro256(seed: 42)
    let drawn = (0..<5).map { _ in generator.next() }
    #expect(drawn == [1_546_998_764_402_558_742, 6_990_951_692_964_543_102, 12_544_586_762_248_559_009,
                      17_057_574_109_182_124_193, 18_295_552_978_065_317_476])
}
