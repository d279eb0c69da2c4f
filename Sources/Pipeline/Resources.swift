import Foundation

/// What one job of a stage asks a cluster for (`resources:` in a pipeline file). Only the Slurm executor
/// reads it; none of it is part of the cache key, since it cannot change what a stage writes.
public struct StageResources: Sendable, Equatable {
    /// CPUs per job (`--cpus-per-task`); also the job's thread budget on Slurm.
    public var cpus: Int?
    /// Memory per job in Slurm's syntax (`--mem`): megabytes, or a number with K, M, G or T.
    public var mem: String?
    /// Wall-time limit in Slurm's syntax (`--time`): minutes, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`.
    public var time: String?
    /// Partition (`--partition`), overriding the executor's.
    public var partition: String?
    /// Generic resources (`--gres`), such as `gpu:1` for a training stage.
    public var gres: String?

    public init(cpus: Int? = nil, mem: String? = nil, time: String? = nil, partition: String? = nil, gres: String? = nil) {
        self.cpus = cpus
        self.mem = mem
        self.time = time
        self.partition = partition
        self.gres = gres
    }

    static let fields: Set<String> = ["cpus", "mem", "time", "partition", "gres"]

    /// Whether `text` is a memory size Slurm accepts: digits, optionally one of K, M, G, T.
    public static func isMemory(_ text: String) -> Bool {
        var digits = Substring(text)
        if let last = digits.last, "KMGTkmgt".contains(last) { digits = digits.dropLast() }
        return !digits.isEmpty && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber)
    }

    /// Whether `text` is a time limit in one of Slurm's forms (see `time`).
    public static func isTimeLimit(_ text: String) -> Bool {
        func numbers(_ part: Substring, max: Int) -> Bool {
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            return (1...max).contains(fields.count)
                && fields.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
        }
        let dash = text.split(separator: "-", omittingEmptySubsequences: false)
        switch dash.count {
        case 1: return numbers(dash[0], max: 3)
        case 2: return numbers(dash[0], max: 1) && numbers(dash[1], max: 3)
        default: return false
        }
    }

    /// Partition names, gres specifications, accounts: a token Slurm takes as it is.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy {
            CharacterSet.alphanumerics.contains($0) && $0.isASCII || "_-.:,=+/@".unicodeScalars.contains($0)
        }
    }

    /// These resources, with `override`'s fields replacing those it sets (a variant's `resources:`).
    func merging(_ override: StageResources) -> StageResources {
        StageResources(cpus: override.cpus ?? cpus, mem: override.mem ?? mem, time: override.time ?? time,
                       partition: override.partition ?? partition, gres: override.gres ?? gres)
    }
}

/// Where a pipeline's jobs run.
public enum ExecutorKind: String, Sendable, CaseIterable {
    /// Child processes of `mammoflow run` (`ProcessExecutor`).
    case local
    /// Batch jobs submitted with `sbatch` (`SlurmExecutor`).
    case slurm
}

/// `executor:` in a pipeline file: `{ kind: slurm, partition: cpu, account: lab, options: [--qos=normal] }`.
public struct ExecutorSpec: Sendable, Equatable {
    public var kind: ExecutorKind
    /// The partition of every job whose stage names none.
    public var partition: String?
    /// `--account` of every job.
    public var account: String?
    /// Further `sbatch` options for every job, each one `--name=value` token (e.g. `--qos=high`).
    public var options: [String]

    public init(kind: ExecutorKind = .local, partition: String? = nil, account: String? = nil, options: [String] = []) {
        self.kind = kind
        self.partition = partition
        self.account = account
        self.options = options
    }

    static let fields: Set<String> = ["kind", "partition", "account", "options"]
}
