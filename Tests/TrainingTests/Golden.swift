import Foundation
import Testing

/// albumentations 1.3.1 and OpenCV reference values written by Tests/Fixtures/training/make_golden.py.
final class Golden {
    static let shared = Golden()
    private let arrays: [String: (offset: Int, shape: [Int])]
    private let params: [String: Any]
    private let floats: [Float]

    private init() {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/training").standardized
        let json = try! JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("golden.json"))) as! [String: Any]
        arrays = (json["arrays"] as! [String: [Any]]).mapValues { ($0[0] as! Int, $0[1] as! [Int]) }
        params = json["params"] as! [String: Any]
        let bytes = try! Data(contentsOf: dir.appendingPathComponent("golden.bin"))
        floats = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func array(_ name: String) -> [Float] {
        guard let (offset, shape) = arrays[name] else { fatalError("no golden array \(name)") }
        return Array(floats[offset..<offset + shape.reduce(1, *)])
    }

    /// A list of numbers among the parameters.
    func numbers(_ name: String) -> [Double] { (params[name] as! [NSNumber]).map(\.doubleValue) }

    /// A group of named parameters.
    func values(_ name: String) -> [String: Any] { params[name] as! [String: Any] }

    func value(_ group: String, _ key: String) -> Double { (values(group)[key] as! NSNumber).doubleValue }
}

/// Expects |a - b| <= atol elementwise, reporting the worst element.
func expectClose(_ a: [Float], _ b: [Float], atol: Float, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, "\(what): \(a.count) values, expected \(b.count)", sourceLocation: sourceLocation)
    guard a.count == b.count, !a.isEmpty else { return }
    func error(_ i: Int) -> Float { let e = abs(a[i] - b[i]); return e.isNaN ? .infinity : e }
    let worst = (0..<a.count).max(by: { error($0) < error($1) })!
    #expect(error(worst) <= atol, "\(what): element \(worst) is \(a[worst]), expected \(b[worst])",
            sourceLocation: sourceLocation)
}
