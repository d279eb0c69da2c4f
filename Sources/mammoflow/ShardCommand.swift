import ArgumentParser

/// `mammoflow shard`: look inside shard files, and make them from plain files.
struct ShardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shard",
        abstract: "Inspect shard files (docs/shard-format.md), pack files into one, or print their records.",
        subcommands: [Info.self, Cat.self, Pack.self]
    )
}
