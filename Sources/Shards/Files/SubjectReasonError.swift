/// The shape of mammoflow's errors: what failed (a file, a shard, a JSON field, a stage, a job) and why,
/// printed `subject: reason`. Each error stays a type of its own, so that a caller still catches a shard's
/// error apart from a stage's, while all of them name what failed the same way.
public protocol SubjectReasonError: Error, CustomStringConvertible {
    /// What failed, as printed before the reason: a path, a field, `stage decode`.
    var subject: String { get }
    var reason: String { get }
}

extension SubjectReasonError {
    public var description: String { "\(subject): \(reason)" }
}
