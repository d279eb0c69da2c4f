import Foundation

/// The mount a path lives on, from `/proc/self/mounts`, and what it means for a cache whose jobs run on
/// other machines (docs/scale-out.md, "What a shared cache requires of the file system").
public struct MountEntry: Equatable, Sendable {
    public let mountPoint: String
    public let type: String
    public let options: [String]

    /// The entry of the mount holding `path` (an absolute, resolved path): the longest mount point that is
    /// `path` or one of its parents; the last such line wins, as the last mount over a point hides the rest.
    public static func containing(_ path: String, mounts: String) -> MountEntry? {
        var best: MountEntry?
        for line in mounts.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: " ")
            guard fields.count >= 4 else { continue }
            // Spaces, tabs, newlines and backslashes in mount points are written as octal escapes.
            let point = unescapeOctal(String(fields[1]))
            let inside = point == "/" || path == point || path.hasPrefix(point + "/")
            guard inside, point.count >= (best?.mountPoint.count ?? 0) else { continue }
            best = MountEntry(mountPoint: point, type: String(fields[2]), options: fields[3].split(separator: ",").map(String.init))
        }
        return best
    }

    static func unescapeOctal(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "\\"), i + 3 < utf8.count,
               let value = UInt8(String(decoding: utf8[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                bytes.append(value)
                i += 4
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// File systems only the machine that mounts them sees.
    static let localTypes: Set<String> = ["ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "tmpfs", "ramfs", "overlay", "vfat"]

    /// What stands in the way of running the jobs of a cache on this mount from other machines, one sentence
    /// each; empty when nothing known does.
    public func sharedCacheWarnings(cache: String) -> [String] {
        var warnings: [String] = []
        if Self.localTypes.contains(type) {
            warnings.append("the cache \(cache) is on \(type) (\(mountPoint)), a file system of this machine only: jobs that Slurm "
                + "starts on other nodes cannot see it and stop at once saying so; put the cache (and the stage executables) "
                + "on a file system every node mounts at the same path (a cluster whose only node is this machine needs nothing more)")
        }
        if type.hasPrefix("nfs") {
            let localLocks = options.filter { $0 == "nolock" || $0 == "local_lock=flock" || $0 == "local_lock=all" }
            if !localLocks.isEmpty {
                warnings.append("the cache \(cache) is on NFS mounted with \(localLocks.joined(separator: ",")): its lock "
                    + "(flock) is then local to each machine and does not stop a `mammoflow run` on another machine; run "
                    + "on this cache from one machine only, or mount it with local_lock=none")
            }
        }
        return warnings
    }
}
