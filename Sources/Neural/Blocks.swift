/// Building blocks of the model families, assembled from layers. Names follow timm/torchvision
/// (conv_pw, conv_dw, se, conv_pwl, ...) so checkpoint paths read like theirs.
public enum Blocks {
    /// Convolution with "same" padding for odd kernels (no bias), then batch norm fused with `activation`.
    public static func convBN(_ cin: Int, _ cout: Int, kernel: Int, stride: Int = 1, groups: Int = 1,
                              activation: Activation, rng: Random) -> Sequential {
        Sequential([Conv2d(cin, cout, kernel: kernel, stride: stride, padding: (kernel - 1) / 2, groups: groups,
                           bias: false, rng: rng),
                    BatchNorm(cout, activation: activation)])
    }

    /// Adds the identity shortcut when shapes allow (stride 1, same channels), with drop-path on the body.
    static func residualIfPossible(_ body: Layer, cin: Int, cout: Int, stride: Int, dropPath: Float,
                                   rng: Random) -> Layer {
        guard stride == 1 && cin == cout else { return body }
        return Residual(body: body, dropPath: dropPath > 0 ? DropPath(dropPath, rng: rng.fork()) : nil)
    }

    /// MobileNetV2 inverted residual as in EfficientNet: 1x1 expand, kxk depthwise, squeeze-excite,
    /// 1x1 project (linear), identity shortcut when shapes match.
    public static func mbConv(_ cin: Int, _ cout: Int, expand: Int, kernel: Int, stride: Int, seRatio: Float,
                              dropPath: Float = 0, activation: Activation = .silu, rng: Random) -> Layer {
        let mid = cin * expand
        var layers: [Layer] = []
        if expand != 1 { layers.append(convBN(cin, mid, kernel: 1, activation: activation, rng: rng)) }
        layers.append(convBN(mid, mid, kernel: kernel, stride: stride, groups: mid, activation: activation, rng: rng))
        if seRatio > 0 {
            layers.append(SqueezeExcite(channels: mid, reduced: max(1, Int(Float(cin) * seRatio)),
                                        activation: activation, rng: rng))
        }
        layers.append(convBN(mid, cout, kernel: 1, activation: .identity, rng: rng))
        return residualIfPossible(Sequential(layers), cin: cin, cout: cout, stride: stride, dropPath: dropPath, rng: rng)
    }

    /// EfficientNetV2's fused block: one kxk convolution in place of expand + depthwise, then a 1x1 project;
    /// with expand 1 it is a single conv-BN-activation (timm's "cn" stage with skip).
    public static func fusedMBConv(_ cin: Int, _ cout: Int, expand: Int, kernel: Int, stride: Int,
                                   seRatio: Float = 0, dropPath: Float = 0, activation: Activation = .silu,
                                   rng: Random) -> Layer {
        var layers: [Layer]
        if expand == 1 {
            layers = [convBN(cin, cout, kernel: kernel, stride: stride, activation: activation, rng: rng)]
        } else {
            let mid = cin * expand
            layers = [convBN(cin, mid, kernel: kernel, stride: stride, activation: activation, rng: rng)]
            if seRatio > 0 {
                layers.append(SqueezeExcite(channels: mid, reduced: max(1, Int(Float(cin) * seRatio)),
                                            activation: activation, rng: rng))
            }
            layers.append(convBN(mid, cout, kernel: 1, activation: .identity, rng: rng))
        }
        return residualIfPossible(Sequential(layers), cin: cin, cout: cout, stride: stride, dropPath: dropPath, rng: rng)
    }

    /// ResNet's projection shortcut: 1x1 convolution with stride, then batch norm.
    static func downsample(_ cin: Int, _ cout: Int, stride: Int, rng: Random) -> Layer? {
        guard stride != 1 || cin != cout else { return nil }
        return convBN(cin, cout, kernel: 1, stride: stride, activation: .identity, rng: rng)
    }

    /// ResNet-18/34 block: two 3x3 convolutions, shortcut, ReLU after the sum.
    public static func basicBlock(_ cin: Int, _ planes: Int, stride: Int, rng: Random) -> Layer {
        let body = Sequential([convBN(cin, planes, kernel: 3, stride: stride, activation: .relu, rng: rng),
                               convBN(planes, planes, kernel: 3, activation: .identity, rng: rng)])
        return Residual(body: body, shortcut: downsample(cin, planes, stride: stride, rng: rng),
                        after: ActivationLayer(.relu))
    }

    /// ResNet-50-style bottleneck: 1x1 reduce, 3x3 (with the stride), 1x1 expand to 4x planes.
    public static func bottleneck(_ cin: Int, _ planes: Int, stride: Int, rng: Random) -> Layer {
        let cout = planes * 4
        let body = Sequential([convBN(cin, planes, kernel: 1, activation: .relu, rng: rng),
                               convBN(planes, planes, kernel: 3, stride: stride, activation: .relu, rng: rng),
                               convBN(planes, cout, kernel: 1, activation: .identity, rng: rng)])
        return Residual(body: body, shortcut: downsample(cin, cout, stride: stride, rng: rng),
                        after: ActivationLayer(.relu))
    }
}
