import Foundation
import Testing
@testable import Neural

/// PyTorch reference values written by Tests/Fixtures/neural/make_golden.py.
final class Golden {
    static let shared = Golden()
    let cases: [String: [String: (Int, [Int])]]
    let floats: [Float]

    private init() {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/neural").standardized
        let json = try! JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("golden.json")))
        let raw = (json as! [String: Any])["cases"] as! [String: [String: [Any]]]
        cases = raw.mapValues { $0.mapValues { ($0[0] as! Int, $0[1] as! [Int]) } }
        let bytes = try! Data(contentsOf: dir.appendingPathComponent("golden.bin"))
        floats = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func tensor(_ testCase: String, _ name: String) -> Tensor {
        guard let (offset, shape) = cases[testCase]?[name] else { fatalError("no golden \(testCase)/\(name)") }
        let count = shape.reduce(1, *)
        return Tensor(shape, values: Array(floats[offset..<(offset + count)]))
    }

    func names(_ testCase: String) -> [String] { (cases[testCase] ?? [:]).keys.sorted() }
}

/// Expects |a - b| <= atol + rtol |b| elementwise, reporting the worst element.
func expectClose(_ a: Tensor, _ b: Tensor, atol: Float = 1e-4, rtol: Float = 1e-4, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, "\(what): \(a.shape) vs \(b.shape)", sourceLocation: sourceLocation)
    guard a.count == b.count else { return }
    var worst = 0, excess: Float = -1
    for i in 0..<a.count {
        let e = abs(a[i] - b[i]) - (atol + rtol * abs(b[i]))
        if !(e <= excess) || e.isNaN { excess = e.isNaN ? .infinity : e; worst = i }
    }
    #expect(excess <= 0, "\(what): element \(worst) is \(a[worst]), expected \(b[worst])", sourceLocation: sourceLocation)
}

/// Copies values into an existing parameter or buffer tensor (shapes must match in size).
func assign(_ target: Tensor, _ source: Tensor) {
    precondition(target.count == source.count, "assign \(source.shape) to \(target.shape)")
    target.data.update(from: source.data, count: target.count)
}

func randomTensor(_ shape: [Int], _ rng: Random, scale: Float = 1) -> Tensor {
    let t = Tensor(shape)
    for i in 0..<t.count { t[i] = rng.normal() * scale }
    return t
}

/// Finite-difference check of a layer's backward: for loss = sum(y * r) with a fixed random r, compares
/// the analytic gradients of the input and every parameter with central differences on sampled
/// coordinates (loss accumulated in float64).
/// With `skipKinks`, coordinates where the one-sided differences disagree (a ReLU or max switches inside
/// the step, so no derivative exists to compare) are skipped.
func gradientCheck(_ layer: Layer, input: Tensor, seed: UInt64 = 7, samples: Int = 24, eps: Float = 1e-2,
                   atol: Float = 2e-3, rtol: Float = 2e-2, skipKinks: Bool = false,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    let rng = Random(seed: seed)
    let y = layer.forward(input)
    let r = randomTensor(y.shape, rng)
    func loss() -> Double {
        let out = layer.forward(input)
        var s = 0.0
        for i in 0..<out.count { s += Double(out[i]) * Double(r[i]) }
        return s
    }
    layer.parameters.forEach { $0.1.grad.zero() }
    _ = layer.forward(input)
    let dx = layer.backward(r)
    var checks: [(String, Tensor, Tensor)] = [("input", input, dx)]
    checks += layer.parameters.map { ($0.0, $0.1.value, $0.1.grad.copy()) }
    for (name, value, analytic) in checks {
        for _ in 0..<min(samples, value.count) {
            let i = rng.int(value.count)
            let saved = value[i]
            value[i] = saved + eps
            let plus = loss()
            value[i] = saved - eps
            let minus = loss()
            value[i] = saved
            let numeric = Float((plus - minus) / Double(2 * eps))
            if skipKinks {
                let center = loss(), right = (plus - center) / Double(eps), left = (center - minus) / Double(eps)
                if abs(right - left) > Double(atol + rtol * abs(numeric)) { continue }
            }
            #expect(abs(analytic[i] - numeric) <= atol + rtol * abs(numeric),
                    "\(type(of: layer)) d\(name)[\(i)]: analytic \(analytic[i]), numeric \(numeric)",
                    sourceLocation: sourceLocation)
        }
    }
}

/// Runs `body` with `Threads.count == threads`, one such block at a time across the (parallel) test run,
/// so tests that compare results bit for bit are not disturbed by another test's thread setting.
func withThreads<T>(_ threads: Int, _ body: () throws -> T) rethrows -> T {
    threadSettingLock.lock()
    defer { Threads.configure(1); threadSettingLock.unlock() }
    Threads.configure(threads)
    return try body()
}

private let threadSettingLock = NSLock()

/// Bit-for-bit comparison of two parameter lists, naming the first difference (cheap on large models,
/// unlike #expect on whole arrays).
func expectIdentical(_ a: [(String, Parameter)], _ b: [(String, Parameter)], _ what: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
    expectBitIdentical(a.map { ($0.0, $0.1.value) }, b.map { ($0.0, $0.1.value) }, what, sourceLocation: sourceLocation)
}

/// Bit-for-bit comparison of two named tensor lists (same names, shapes and float bit patterns), naming
/// the first difference and how many tensors differ.
func expectBitIdentical(_ a: [(String, Tensor)], _ b: [(String, Tensor)], _ what: String,
                        sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.map(\.0) == b.map(\.0), "\(what): names", sourceLocation: sourceLocation)
    var differing: [String] = []  // "name: first difference"
    for ((name, p), (_, q)) in zip(a, b) {
        if p.shape != q.shape {
            differing.append("\(name): shape \(p.shape) vs \(q.shape)")
        } else if let i = (0..<p.count).first(where: { p[$0].bitPattern != q[$0].bitPattern }) {
            differing.append("\(name)[\(i)]: \(p[i]) vs \(q[i])")
        }
    }
    if let first = differing.first {
        Issue.record("\(what): \(differing.count) of \(a.count) tensors differ, first \(first)", sourceLocation: sourceLocation)
    }
}
