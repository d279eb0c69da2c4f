import Testing
@testable import Neural

/// Which OpenBLAS kernels a process asks for when the library's own choice is older than the CPU.
@Suite struct BLASKernelsTests {
    /// The flags of a Xeon (family 6, model 207) that Debian's OpenBLAS 0.3.21 does not know; abridged.
    let emeraldRapids: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512cd", "avx512bw",
                                      "avx512vl", "avx512_bf16", "avx512_fp16"]

    @Test func theGenericFallbackOnANewerCPUIsReplacedByItsBestKernels() {
        #expect(BLASKernels.better(than: "Prescott", flags: emeraldRapids) == "SKYLAKEX")
        #expect(BLASKernels.better(than: "Prescott", flags: emeraldRapids.subtracting(["avx512bw"])) == "HASWELL")
        #expect(BLASKernels.better(than: "Sandybridge", flags: ["avx", "avx2", "fma", "avx512f"]) == "HASWELL")
    }

    @Test func aChoiceThatFitsTheCPUIsKept() {
        #expect(BLASKernels.better(than: "SkylakeX", flags: emeraldRapids) == nil)
        #expect(BLASKernels.better(than: "Cooperlake", flags: emeraldRapids) == nil)
        #expect(BLASKernels.better(than: "Haswell", flags: ["avx2", "fma"]) == nil)
        #expect(BLASKernels.better(than: "Prescott", flags: ["sse3", "avx"]) == nil)   // no AVX2: nothing better
    }
}
