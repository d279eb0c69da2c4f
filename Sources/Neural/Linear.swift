/// Fully connected layer, y = x W^T + b, weight (out, in) as in PyTorch's `nn.Linear`,
/// applied to the last dimension of x.
public final class Linear: Layer {
    public let inFeatures, outFeatures: Int
    public let weight: Parameter  // (out, in)
    public let bias: Parameter?  // (out)
    private var input: Tensor?  // (..., in), kept for backward

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: Random) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        // PyTorch's default: uniform(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
        let bound = 1 / Float(inFeatures).squareRoot()
        let w = Tensor([outFeatures, inFeatures])
        for i in 0..<w.count { w[i] = rng.uniform(-bound, bound) }
        weight = Parameter(w)
        if bias {
            let b = Tensor([outFeatures])
            for i in 0..<outFeatures { b[i] = rng.uniform(-bound, bound) }
            self.bias = Parameter(b, decays: false)
        } else {
            self.bias = nil
        }
        super.init()
    }

    public override var localParameters: [(String, Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    // x: (..., in) -> out: (..., out)
    public override func forward(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == inFeatures, "Linear expects \(inFeatures) features, got \(x.shape)")
        input = retainsActivations ? x : nil
        let rows = x.count / inFeatures
        let y = Tensor(uninitialized: Array(x.shape.dropLast()) + [outFeatures])
        gemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: x.data, lda: inFeatures,
             b: weight.value.data, ldb: inFeatures, beta: 0, c: y.data, ldc: outFeatures)
        if let bias { addBias(y.data, rows, bias.value.data, channels: outFeatures) }
        return y
    }

    public override func backward(_ dy: Tensor) -> Tensor {
        let x = retained(input)
        input = nil
        let rows = x.count / inFeatures
        // dW (out, in) += dy^T (out, rows) x (rows, in); db += column sums of dy; dx = dy W
        gemm(transA: true, m: outFeatures, n: inFeatures, k: rows, a: dy.data, lda: outFeatures,
             b: x.data, ldb: inFeatures, beta: 1, c: weight.grad.data, ldc: inFeatures)
        if let bias { sumRows(dy.data, rows, outFeatures, into: bias.grad.data) }
        guard needsInputGradient else { return Tensor([0]) }
        let dx = Tensor(uninitialized: x.shape)
        gemm(m: rows, n: inFeatures, k: outFeatures, a: dy.data, lda: outFeatures, b: weight.value.data,
             ldb: inFeatures, beta: 0, c: dx.data, ldc: inFeatures)
        return dx
    }
}
