import SeededRandom

/// Patient-grouped k-fold splits with scikit-learn's semantics (sklearn/model_selection/_split.py):
/// `StratifiedGroupKFold` and `GroupKFold`. Without a seed both reproduce scikit-learn's `shuffle=False`
/// assignment exactly (tested on RSNA's train.csv); with a seed the groups are shuffled first, as with
/// `shuffle=True`, by our own generator (numpy's stream cannot be matched), so only the properties hold.

public enum FoldMethod: String, CaseIterable, Sendable {
    /// Groups never split, each fold's class distribution close to the whole's.
    case stratifiedGroup = "stratified-group"
    /// Groups never split, folds of near-equal size; labels ignored.
    case group
}

public struct FoldError: Error, CustomStringConvertible, Equatable {
    public let reason: String
    public var description: String { "folds: \(reason)" }
}

/// The distinct groups in scikit-learn's order (np.unique: numeric when every id is an integer, else by
/// text) and each sample's group index.
public struct GroupIndex {
    public let groups: [String]
    /// inverse[i]: index into `groups` of sample i.
    public let inverse: [Int]

    public init(_ ids: [String]) {
        var first: [String: Int] = [:]
        var distinct: [String] = []
        for id in ids where first[id] == nil {
            first[id] = distinct.count
            distinct.append(id)
        }
        let numbers = distinct.map { Int($0) }
        if numbers.allSatisfy({ $0 != nil }) {
            distinct.sort { Int($0)! < Int($1)! }
        } else {
            distinct.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        }
        let position = Dictionary(uniqueKeysWithValues: distinct.enumerated().map { ($1, $0) })
        groups = distinct
        inverse = ids.map { position[$0]! }
    }

    public var count: Int { groups.count }
}

/// Fold of every sample (0..<k).
public func kFold(method: FoldMethod, k: Int, groups: [String], labels: [Int], seed: UInt64?) throws -> [Int] {
    switch method {
    case .stratifiedGroup: return try stratifiedGroupKFold(k: k, groups: groups, labels: labels, seed: seed)
    case .group: return try groupKFold(k: k, groups: groups, seed: seed)
    }
}

/// scikit-learn's StratifiedGroupKFold: groups in decreasing order of the spread (std) of their class
/// counts, each put into the fold that keeps the per-class fold shares most even (mean over classes of the
/// std across folds of fold count / class count), ties (np.isclose) going to the fold with fewer samples.
/// The float arithmetic follows numpy's order of operations, so near-ties break the same way.
public func stratifiedGroupKFold(k: Int, groups ids: [String], labels: [Int], seed: UInt64?) throws -> [Int] {
    guard ids.count == labels.count else { throw FoldError(reason: "\(ids.count) groups for \(labels.count) labels") }
    guard k >= 2 else { throw FoldError(reason: "k must be at least 2, found \(k)") }
    let classes = Array(Set(labels)).sorted()
    let classOf = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
    let nClasses = classes.count
    var classCounts = [Double](repeating: 0, count: nClasses)
    for y in labels { classCounts[classOf[y]!] += 1 }
    guard classCounts.contains(where: { $0 >= Double(k) }) else {
        throw FoldError(reason: "k=\(k) is greater than the number of members in each class")
    }
    let index = GroupIndex(ids)
    guard k <= index.count else { throw FoldError(reason: "k=\(k) is greater than the number of groups, \(index.count)") }

    // countsPerGroup[g * nClasses + c]
    var countsPerGroup = [Double](repeating: 0, count: index.count * nClasses)
    for (g, y) in zip(index.inverse, labels) { countsPerGroup[g * nClasses + classOf[y]!] += 1 }

    var order = Array(0..<index.count)
    if let seed {
        var rng = SplitMix64(seed: seed)
        order.shuffle(using: &rng)
    }
    let spread = (0..<index.count).map { g in numpyStd(countsPerGroup[g * nClasses..<(g + 1) * nClasses]) }
    // Stable sort by decreasing spread: ties keep the (shuffled) order.
    let ranked = order.enumerated()
        .sorted { a, b in spread[a.element] != spread[b.element] ? spread[a.element] > spread[b.element] : a.offset < b.offset }
        .map(\.element)

    var countsPerFold = [Double](repeating: 0, count: k * nClasses) // [fold * nClasses + c]
    var foldOfGroup = [Int](repeating: 0, count: index.count)
    var shares = [Double](repeating: 0, count: k)
    for g in ranked {
        let add = countsPerGroup[g * nClasses..<(g + 1) * nClasses]
        var best = 0
        var bestEval = Double.infinity
        var bestSamples = Double.infinity
        for candidate in 0..<k {
            // fold_eval = mean over classes of std over folds of (counts with the group in `candidate`) / y_cnt
            var sumOverClasses = 0.0
            for c in 0..<nClasses {
                for f in 0..<k {
                    let count = countsPerFold[f * nClasses + c] + (f == candidate ? add[add.startIndex + c] : 0)
                    shares[f] = count / classCounts[c]
                }
                sumOverClasses += numpyStd(shares[...])
            }
            let eval = sumOverClasses / Double(nClasses)
            var samples = 0.0
            for c in 0..<nClasses { samples += countsPerFold[candidate * nClasses + c] }
            if eval < bestEval || (isClose(eval, bestEval) && samples < bestSamples) {
                best = candidate
                bestEval = eval
                bestSamples = samples
            }
        }
        for c in 0..<nClasses { countsPerFold[best * nClasses + c] += add[add.startIndex + c] }
        foldOfGroup[g] = best
    }
    return index.inverse.map { foldOfGroup[$0] }
}

/// scikit-learn's GroupKFold. Without a seed: groups by decreasing size (ties: later group first, as the
/// reversed stable argsort does), each into the currently lightest fold. With a seed: groups shuffled
/// and cut into k runs of near-equal group count (np.array_split), as `shuffle=True`.
public func groupKFold(k: Int, groups ids: [String], seed: UInt64?) throws -> [Int] {
    guard k >= 2 else { throw FoldError(reason: "k must be at least 2, found \(k)") }
    let index = GroupIndex(ids)
    guard k <= index.count else { throw FoldError(reason: "k=\(k) is greater than the number of groups, \(index.count)") }
    var foldOfGroup = [Int](repeating: 0, count: index.count)
    if let seed {
        var rng = SplitMix64(seed: seed)
        var order = Array(0..<index.count)
        order.shuffle(using: &rng)
        // np.array_split: the first (n % k) parts get one extra.
        let base = index.count / k, extra = index.count % k
        var position = 0
        for f in 0..<k {
            let size = base + (f < extra ? 1 : 0)
            for g in order[position..<position + size] { foldOfGroup[g] = f }
            position += size
        }
    } else {
        var sizes = [Int](repeating: 0, count: index.count)
        for g in index.inverse { sizes[g] += 1 }
        let ascending = (0..<index.count).sorted { sizes[$0] != sizes[$1] ? sizes[$0] < sizes[$1] : $0 < $1 }
        var load = [Int](repeating: 0, count: k)
        for g in ascending.reversed() {
            let lightest = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
            load[lightest] += sizes[g]
            foldOfGroup[g] = lightest
        }
    }
    return index.inverse.map { foldOfGroup[$0] }
}

/// np.std of a short vector in numpy's order of operations: sum sequentially, divide by n, square the
/// deviations, sum, divide by n, square root. (numpy sums blocks of fewer than 8 values sequentially.)
func numpyStd(_ values: ArraySlice<Double>) -> Double {
    let n = Double(values.count)
    var sum = 0.0
    for v in values { sum += v }
    let mean = sum / n
    var squares = 0.0
    for v in values { let d = v - mean; squares += d * d }
    return (squares / n).squareRoot()
}

/// np.isclose(a, b) with its defaults (rtol 1e-5, atol 1e-8); never close to infinity unless equal.
func isClose(_ a: Double, _ b: Double) -> Bool {
    if a == b { return true }
    guard a.isFinite, b.isFinite else { return false }
    return abs(a - b) <= 1e-8 + 1e-5 * abs(b)
}

/// Per-fold sample counts, positives and rates: the folds' summary.
public struct FoldSummary: Codable, Equatable, Sendable {
    public var fold: Int
    public var images: Int
    public var groups: Int
    public var positives: Int
    public var positiveRate: Double
}

public func summarizeFolds(_ folds: [Int], k: Int, groups: [String], labels: [Int]) -> [FoldSummary] {
    (0..<k).map { f in
        let members = folds.indices.filter { folds[$0] == f }
        let positives = members.reduce(0) { $0 + (labels[$1] > 0 ? 1 : 0) }
        return FoldSummary(fold: f, images: members.count, groups: Set(members.map { groups[$0] }).count,
                           positives: positives,
                           positiveRate: members.isEmpty ? 0 : Double(positives) / Double(members.count))
    }
}
