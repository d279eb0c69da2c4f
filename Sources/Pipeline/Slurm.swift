import Foundation

// The pure part of the Slurm executor: what is submitted and how Slurm's answers are read. No process is
// started here, so all of it is tested without a cluster (SlurmTests); SlurmExecutor.swift runs the commands.

/// One job as submitted: the `sbatch` arguments and the wrapper script they submit.
public struct SlurmSubmission: Equatable, Sendable {
    /// The wrapper script's path: `slurm.sh` in the job's directory (the parent of its output directory).
    public let scriptPath: String
    /// The file Slurm writes the job's stdout and stderr to; the executor follows it into the job's log.
    public let outputPath: String
    public let script: String
    /// Everything after `sbatch`, the script's path last.
    public let arguments: [String]

    /// The wrapper runs the stage as `ProcessExecutor` does: `<executable> --job <job file>` in the job's
    /// directory, with the submitting environment (`--export=ALL`) plus the job's own variables. Before that it
    /// checks that the node sees the job file and the executable, which it cannot when the cache or the build
    /// is on a disk only the submitting machine has.
    public init(job: ProcessJob, executor: ExecutorSpec) {
        let directory = (job.outputDirectory as NSString).deletingLastPathComponent
        scriptPath = "\(directory)/slurm.sh"
        outputPath = "\(directory)/slurm.out"
        var lines = [
            "#!/bin/sh",
            "# mammoflow: \(job.label) on Slurm (docs/scale-out.md). The stage writes into \(job.outputDirectory);",
            "# mammoflow run commits it when the job has ended.",
        ]
        for name in job.environment.keys.sorted() {
            lines.append("export \(name)=\(shellQuoted(job.environment[name]!))")
        }
        for (path, test, what) in [(job.jobFile, "-r", "job file"), (job.executable, "-x", "stage executable")] {
            lines.append("[ \(test) \(shellQuoted(path)) ] || { echo \"mammoflow: the \(what) \(shellEscapedForDoubleQuotes(path)) is not there on $(hostname):"
                + " the cache and the stage executables must be on a file system that every node mounts at the same path\" >&2; exit 97; }")
        }
        lines.append("exec \(shellQuoted(job.executable)) --job \(shellQuoted(job.jobFile))")
        script = lines.joined(separator: "\n") + "\n"

        let resources = job.resources
        var arguments = ["--parsable", "--job-name=\(Self.jobName(job.label))", "--output=\(outputPath)",
                         "--chdir=\(directory)", "--export=ALL", "--nodes=1", "--ntasks=1",
                         "--cpus-per-task=\(resources.cpus ?? 1)"]
        if let mem = resources.mem { arguments.append("--mem=\(mem)") }
        if let time = resources.time { arguments.append("--time=\(time)") }
        if let partition = resources.partition ?? executor.partition { arguments.append("--partition=\(partition)") }
        if let gres = resources.gres { arguments.append("--gres=\(gres)") }
        if let account = executor.account { arguments.append("--account=\(account)") }
        arguments += executor.options
        arguments.append(scriptPath)
        self.arguments = arguments
    }

    /// `mammoflow.decode_2of4`: the label with anything but letters, digits and `._=-` made `_`, so that
    /// `squeue` columns and `scancel --name` see one word.
    static func jobName(_ label: String) -> String {
        let readable = label.replacingOccurrences(of: "#", with: "_").replacingOccurrences(of: "/", with: "of")
        return "mammoflow." + String(readable.unicodeScalars.map {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._=-".unicodeScalars.contains($0)) ? Character($0) : "_"
        })
    }
}

/// `'text'` for sh, with each `'` written as `'\''`.
func shellQuoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// `text` safe inside double quotes in sh: `\`, `"`, `$` and backquote escaped.
func shellEscapedForDoubleQuotes(_ text: String) -> String {
    var out = ""
    for c in text {
        if "\\\"$`".contains(c) { out.append("\\") }
        out.append(c)
    }
    return out
}

/// The job id in `sbatch --parsable`'s answer: `1234` or `1234;cluster`.
public func parseSbatchJobID(_ output: String) -> String? {
    let line = output.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
    let id = line.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    return !id.isEmpty && id.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "_") }) ? id : nil
}

/// A Slurm job state (`squeue %T`, `scontrol`'s `JobState`), and what it means for the job's exit status.
public struct SlurmJobState: Equatable, Sendable, CustomStringConvertible {
    public let name: String
    public init(_ name: String) { self.name = name.uppercased() }
    public var description: String { name }

    /// States after which the job will not run again (the rest: PENDING, CONFIGURING, RUNNING, COMPLETING,
    /// SUSPENDED, REQUEUED, RESIZING, ...). COMPLETING is not final: its processes may still be writing.
    static let finalStates: Set<String> = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY",
                                           "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "SPECIAL_EXIT", "REVOKED"]
    public var isFinal: Bool { Self.finalStates.contains(name) }

    /// The exit status `execute` reports for a job that ended in this state, given scontrol's `ExitCode=S:G`
    /// (S the script's status, G the signal that ended it): 0 only for COMPLETED with status 0; a signal as
    /// 128 + signal, like ProcessExecutor; a job Slurm ended (cancelled, out of time or memory, node lost)
    /// without a status or signal of its own still fails, as 128 + SIGTERM or 1.
    public func exitStatus(exitCode: (status: Int32, signal: Int32)?) -> Int32 {
        let (status, signal) = exitCode ?? (0, 0)
        if name == "COMPLETED" { return status }
        if signal > 0 { return 128 + signal }
        if status != 0 { return status }
        return name == "CANCELLED" ? 128 + 15 : 1
    }

    /// A line for the job's log saying how Slurm ended a job that did not complete (nil when it did).
    public func endNote(jobID: String, fields: [String: String]) -> String? {
        guard name != "COMPLETED" else { return nil }
        var text = "slurm: job \(jobID) ended \(name)"
        if let code = fields["ExitCode"] { text += " (ExitCode \(code))" }
        if let reason = fields["Reason"], reason != "None" { text += ", reason \(reason)" }
        if let nodes = fields["NodeList"], nodes != "(null)" { text += " on \(nodes)" }
        switch name {
        case "TIMEOUT": text += ": raise the stage's resources.time"
        case "OUT_OF_MEMORY": text += ": raise the stage's resources.mem"
        default: break
        }
        return text
    }
}

/// One row of `squeue --noheader --format=%i|%T|%r|%N`: job id, state, reason, nodes.
public struct SqueueRow: Equatable, Sendable {
    public let jobID: String
    public let state: SlurmJobState
    public let reason: String
    public let nodes: String

    public static let format = "%i|%T|%r|%N"

    /// Rows of squeue's output; lines in another shape (a warning, a blank line) are skipped.
    public static func parse(_ output: String) -> [SqueueRow] {
        output.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 4, parseSbatchJobID(fields[0]) == fields[0], !fields[1].isEmpty else { return nil }
            return SqueueRow(jobID: fields[0], state: SlurmJobState(fields[1]), reason: fields[2], nodes: fields[3])
        }
    }
}

/// `scontrol show job -o ID`: one line of `Key=Value` fields (values without spaces, except the last field
/// may run to the end of the line, which none of the fields read here is).
public func parseScontrolJob(_ output: String) -> [String: String] {
    var fields: [String: String] = [:]
    for token in output.split(whereSeparator: { $0 == " " || $0.isNewline }) {
        guard let eq = token.firstIndex(of: "=") else { continue }
        let key = String(token[..<eq])
        if fields[key] == nil { fields[key] = String(token[token.index(after: eq)...]) }
    }
    return fields
}

/// `ExitCode=S:G`: the batch script's exit status and the signal that ended it.
public func parseExitCode(_ text: String?) -> (status: Int32, signal: Int32)? {
    guard let parts = text?.split(separator: ":"), parts.count == 2,
          let status = Int32(parts[0]), let signal = Int32(parts[1]) else { return nil }
    return (status, signal)
}
