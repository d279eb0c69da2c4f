/// Rescales all gradients so their global L2 norm is at most `maxNorm` (PyTorch's clip_grad_norm_,
/// coefficient maxNorm / (norm + 1e-6)). Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [(String, Parameter)], maxNorm: Float) -> Float {
    var sumSquares = 0.0
    for (_, p) in parameters { for j in 0..<p.grad.count { sumSquares += Double(p.grad[j] * p.grad[j]) } }
    let norm = Float(sumSquares.squareRoot())
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
        for (_, p) in parameters { for j in 0..<p.grad.count { p.grad[j] *= coefficient } }
    }
    return norm
}

/// Clamps every gradient element to [-limit, limit].
public func clipGradientValue(_ parameters: [(String, Parameter)], limit: Float) {
    for (_, p) in parameters { for j in 0..<p.grad.count { p.grad[j] = min(max(p.grad[j], -limit), limit) } }
}
