import Foundation

/// Batch normalisation over the channels of an NHWC tensor (PyTorch's `nn.BatchNorm2d`), optionally fused
/// with the activation that follows it so the pair makes one pass over memory forward and two backward.
/// Training normalises with the biased batch variance and updates the running variance with the unbiased
/// one; running = (1 - momentum) * running + momentum * batch, exactly as PyTorch.
public final class BatchNorm: Layer {
    public let channels: Int
    public let eps: Float
    public let momentum: Float
    public let activation: Activation
    public let gamma: Parameter  // (C)
    public let beta: Parameter  // (C)
    public let runningMean: Tensor  // (C)
    public let runningVar: Tensor  // (C)

    /// Kept for backward: the input, from which backward recomputes xhat = (x - mean) * invStd (that costs
    /// less than writing xhat as a second output in the forward), and the statistics used.
    private var kept: (input: Tensor, mean: Tensor, invStd: Tensor)?  // (N, H, W, C), (C), (C)

    public init(_ channels: Int, eps: Float = 1e-5, momentum: Float = 0.1, activation: Activation = .identity) {
        self.channels = channels
        self.eps = eps
        self.momentum = momentum
        self.activation = activation
        gamma = Parameter(Tensor([channels], values: .init(repeating: 1, count: channels)), decays: false)
        beta = Parameter(Tensor([channels]), decays: false)
        runningMean = Tensor([channels])
        runningVar = Tensor([channels], values: .init(repeating: 1, count: channels))
        super.init()
    }

    public override var localParameters: [(String, Parameter)] { [("weight", gamma), ("bias", beta)] }
    public override var localBuffers: [(String, Tensor)] { [("running_mean", runningMean), ("running_var", runningVar)] }

    // x: (..., C) -> out: same shape
    public override func forward(_ x: Tensor) -> Tensor {
        let c = channels, rows = x.count / c
        precondition(x.shape.last == c, "BatchNorm expects \(c) channels, got \(x.shape)")
        let mean = Tensor([c]), invStd = Tensor([c])
        if training {
            // One pass for both moments, of x - shift with the first row as shift: the shifted values are of
            // the order of the spread, so E[d^2] - E[d]^2 does not cancel the way E[x^2] - E[x]^2 can.
            let shift = x.data
            let moments = channelSums(rows, 2 * c) { r, acc in
                let row = x.data + r * c
                for i in stride(from: 0, to: c, by: 8) {
                    let d = loadLanes(row, i, c) - loadLanes(shift, i, c)
                    storeLanes(loadLanes(acc, i, c) + d, acc, i, c)
                    storeLanes(fma(d, d, loadLanes(acc + c, i, c)), acc + c, i, c)
                }
            }
            for ch in 0..<c {
                let meanShift = moments[ch] / Double(rows)
                mean[ch] = Float(Double(shift[ch]) + meanShift)
                let squares = max(moments[c + ch] - meanShift * moments[ch], 0)  // sum of (x - mean)^2
                let variance = squares / Double(rows)
                invStd[ch] = Float(1 / (variance + Double(eps)).squareRoot())
                let unbiased = rows > 1 ? squares / Double(rows - 1) : variance
                runningMean[ch] = (1 - momentum) * runningMean[ch] + momentum * mean[ch]
                runningVar[ch] = (1 - momentum) * runningVar[ch] + momentum * Float(unbiased)
            }
        } else {
            for ch in 0..<c {
                mean[ch] = runningMean[ch]
                invStd[ch] = 1 / (runningVar[ch] + eps).squareRoot()
            }
        }
        let y = Tensor(uninitialized: x.shape)
        let act = activation, g = gamma.value.data, b = beta.value.data
        parallelRange(rows, grain: 256) { range in
            for r in range { normalizeRow(x.data + r * c, mean.data, invStd.data, g, b, y.data + r * c, c, act) }
        }
        kept = retainsActivations ? (x, mean, invStd) : nil
        return y
    }

    public override func backward(_ dy: Tensor) -> Tensor {
        let (x, mean, invStd) = retained(kept)
        kept = nil
        let c = channels, rows = x.count / c
        let m = mean.data, s = invStd.data, g = gamma.value.data, b = beta.value.data, act = activation
        // dz = dy * act'(gamma * xhat + beta), kept in dx (the activation's derivative costs more than the
        // memory traffic of writing it once); per-channel sums of dz and dz * xhat.
        let dx = Tensor(uninitialized: x.shape)
        let sums = channelSums(rows, 2 * c) { r, acc in
            let xr = x.data + r * c, dyr = dy.data + r * c, dzr = dx.data + r * c
            for i in stride(from: 0, to: c, by: 8) {
                let h = (loadLanes(xr, i, c) - loadLanes(m, i, c)) * loadLanes(s, i, c)
                let dz = act.backward(loadLanes(dyr, i, c), at: fma(h, loadLanes(g, i, c), loadLanes(b, i, c)))
                storeLanes(dz, dzr, i, c)
                storeLanes(loadLanes(acc, i, c) + dz, acc, i, c)
                storeLanes(fma(dz, h, loadLanes(acc + c, i, c)), acc + c, i, c)
            }
        }
        for ch in 0..<c {
            beta.grad[ch] += Float(sums[ch])
            gamma.grad[ch] += Float(sums[c + ch])
        }
        guard needsInputGradient else { return dx }
        // train: dx = gamma * invstd * (dz - mean(dz) - xhat * mean(dz * xhat)); eval: dx = gamma * invstd * dz
        var scale = [Float](repeating: 0, count: c), meanDz = scale, meanDzXhat = scale
        for ch in 0..<c {
            scale[ch] = g[ch] * s[ch]
            if training {
                meanDz[ch] = Float(sums[ch] / Double(rows))
                meanDzXhat[ch] = Float(sums[c + ch] / Double(rows))
            }
        }
        scale.withUnsafeBufferPointer { sc in
            meanDz.withUnsafeBufferPointer { md in
                meanDzXhat.withUnsafeBufferPointer { mdh in
                    let sc = sc.baseAddress!, md = md.baseAddress!, mdh = mdh.baseAddress!
                    parallelRange(rows, grain: 256) { range in
                        for r in range {
                            let xr = x.data + r * c, dr = dx.data + r * c
                            for i in stride(from: 0, to: c, by: 8) {
                                let h = (loadLanes(xr, i, c) - loadLanes(m, i, c)) * loadLanes(s, i, c)
                                let centred = loadLanes(dr, i, c) - loadLanes(md, i, c) - h * loadLanes(mdh, i, c)
                                storeLanes(loadLanes(sc, i, c) * centred, dr, i, c)
                            }
                        }
                    }
                }
            }
        }
        return dx
    }
}

/// Per-column sums of a (rows, width) quantity produced row by row: `accumulate(r, acc)` adds row r into
/// a float accumulator. Float partial sums over blocks of 64 rows are folded into doubles, so long
/// reductions keep float64 accuracy at float32 speed. The rows are cut into up to `reductionParts` parts
/// of at least 256 rows, bounds set by `rows` alone; the parts run in parallel and their sums are added
/// in part order, so the result does not depend on the thread count.
func channelSums(_ rows: Int, _ width: Int, _ accumulate: (Int, UnsafeMutablePointer<Float>) -> Void) -> [Double] {
    let parts = max(1, min(reductionParts, rows / 256))
    var partials = [Double](repeating: 0, count: parts * width)  // (parts, width)
    partials.withUnsafeMutableBufferPointer { partials in
        let partials = partials.baseAddress!
        parallelParts(parts) { part, _ in
            let block = UnsafeMutablePointer<Float>.allocate(capacity: width)
            defer { block.deallocate() }
            let total = partials + part * width, range = chunk(rows, parts, part)
            var r = range.lowerBound
            while r < range.upperBound {
                block.update(repeating: 0, count: width)
                let stop = min(r + 64, range.upperBound)
                for row in r..<stop { accumulate(row, block) }
                for j in 0..<width { total[j] += Double(block[j]) }
                r = stop
            }
        }
    }
    var sums = [Double](repeating: 0, count: width)
    for part in 0..<parts { for j in 0..<width { sums[j] += partials[part * width + j] } }
    return sums
}

/// One row of the forward: xhat = (x - mean) * invStd, y = act(xhat * gamma + beta), eight lanes at a time.
@inline(__always)
private func normalizeRow(_ x: UnsafePointer<Float>, _ mean: UnsafePointer<Float>, _ invStd: UnsafePointer<Float>,
                          _ gamma: UnsafePointer<Float>, _ beta: UnsafePointer<Float>,
                          _ y: UnsafeMutablePointer<Float>, _ n: Int, _ act: Activation) {
    for i in stride(from: 0, to: n, by: 8) {
        let h = (loadLanes(x, i, n) - loadLanes(mean, i, n)) * loadLanes(invStd, i, n)
        storeLanes(act.apply(fma(h, loadLanes(gamma, i, n), loadLanes(beta, i, n))), y, i, n)
    }
}
