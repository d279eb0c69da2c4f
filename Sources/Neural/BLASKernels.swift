import CBLAS
import Foundation

/// OpenBLAS picks its GEMM kernels for the CPU when the library loads, from the CPU's family and model.
/// Debian's 0.3.21 does not know CPUs newer than itself (e.g. a Xeon of family 6, model 207) and falls back to
/// its generic x86-64 kernels (SSE3, "Prescott"): sgemm at 32 instead of 160 GFLOP/s on such a machine, and
/// training about half as fast. `OPENBLAS_CORETYPE` overrides the choice, but only when the library loads, so
/// a process that finds the generic kernels on a CPU with AVX2 runs itself again with the variable set.
public enum BLASKernels {
    /// OpenBLAS's x86 kernels older than AVX2: the ones a fallback lands on.
    static let beforeAVX2: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Sandybridge"]

    /// The kernels to ask for, given the CPU's feature flags (as in /proc/cpuinfo), or nil when OpenBLAS's
    /// own choice (`current`) is already the best these flags allow. SkylakeX on any AVX-512 CPU, not
    /// Cooperlake on one with BF16: its sgemm sums in another order, and SkylakeX's is what the AVX-512 Xeons
    /// OpenBLAS knows get, so the same training run gives the same weights on those and on newer ones.
    static func better(than current: String, flags: Set<String>) -> String? {
        guard beforeAVX2.contains(current), flags.isSuperset(of: ["avx2", "fma"]) else { return nil }
        return flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]) ? "SKYLAKEX" : "HASWELL"
    }

    /// Call in an executable that trains or predicts before it opens files or starts threads (the stages call
    /// it first in their job's body, so `--describe-params` does not start twice). When OpenBLAS chose kernels
    /// older than the CPU and the user has not set `OPENBLAS_CORETYPE`, says so on stderr and replaces the
    /// process with itself (same arguments, same pid) with the variable set; returns otherwise.
    public static func useTheBestForThisCPU() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              let name = openblas_get_corename().map({ String(cString: $0) }),
              let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let target = better(than: name, flags: Set(flagsLine.split(separator: " ").map(String.init)))
        else { return }
        FileHandle.standardError.write(Data("OpenBLAS chose its \(name) kernels for this CPU; running again with OPENBLAS_CORETYPE=\(target) (set it yourself to choose)\n".utf8))
        setenv("OPENBLAS_CORETYPE", target, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        FileHandle.standardError.write(Data("could not run again (\(String(cString: strerror(errno)))); continuing with the \(name) kernels\n".utf8))
    }
}
