import Foundation

/// The weighted layers of an ncnn network: convolutions, deconvolutions, inner products and pooling,
/// each read with its weights as ncnn's `load_model` reads them.
extension NCNNImporter {
    /// Kernel, dilation, stride and the four paddings, checked square and equal per axis.
    static func geometry(_ l: NCNNLayer) throws -> (k: Int, d: Int, s: Int, pads: [Int]) {
        let kw = try l.int(1, 0), kh = try l.int(11, kw)
        let dw = try l.int(2, 1), dh = try l.int(12, dw), sw = try l.int(3, 1), sh = try l.int(13, sw)
        guard kw == kh else { throw l.fail("kernel \(kw)x\(kh): only square kernels are supported") }
        guard (1...GraphLimits.maxKernel).contains(kw) else { throw l.fail("kernel \(kw) is outside 1...\(GraphLimits.maxKernel)") }
        guard dw == dh, sw == sh else { throw l.fail("different dilations or strides per axis are not supported") }
        guard (1...GraphLimits.maxDilation).contains(dw), (1...GraphLimits.maxStride).contains(sw) else {
            throw l.fail("dilation \(dw) or stride \(sw) is outside 1...\(GraphLimits.maxStride)")
        }
        let left = try l.int(4, 0), right = try l.int(15, left), top = try l.int(14, left), bottom = try l.int(16, top)
        for p in [top, left, bottom, right] where p != -233 && p != -234 && !(0...GraphLimits.maxPadding).contains(p) {
            throw l.fail("padding \(p) is outside 0...\(GraphLimits.maxPadding)")
        }
        return (kw, dw, sw, [top, left, bottom, right])
    }

    mutating func convolution(_ l: NCNNLayer, x input: Int, depthwise: Bool) throws {
        let out = try l.int(0, 0), size = try l.int(6, 0), group = depthwise ? try l.int(7, 1) : 1
        let (k, d, s, pads) = try NCNNImporter.geometry(l)
        guard try l.int(19, 0) == 0 else { throw l.fail("dynamic weights (19=1) are not supported") }
        guard out >= 1, group >= 1, out % group == 0, size > 0, size % (out * k * k) == 0 else {
            throw l.fail("weight_data_size \(size) does not fit \(out) outputs of \(k)x\(k) in \(group) groups")
        }
        let cinPerGroup = size / (out * k * k)
        var w = try load(size, type: 0, l, "weights")
        let bias = try l.int(5, 0) != 0 ? try load(out, type: 1, l, "biases").values : nil
        let int8 = try l.int(8, 0)
        if int8 != 0 {
            guard !depthwise else { throw l.fail("int8-quantized depthwise convolutions are not supported") }
            let scales = try load(out, type: 1, l, "int8 weight scales").values
            _ = try load(1, type: 1, l, "int8 input scale")
            if int8 > 100 { _ = try load(1, type: 1, l, "int8 output scale") }
            let per = size / out
            for o in 0..<out where scales[o] != 0 { for j in 0..<per { w.values[o * per + j] /= scales[o] } }
        } else if w.int8 {
            throw l.fail("int8 weights without int8 scales (8=0)")
        }
        var x = input
        var padding: Int
        if pads[1] == -233 || pads[1] == -234 {
            // SAME padding: fixed only at stride 1 with an odd kernel extent.
            guard s == 1, (d * (k - 1)) % 2 == 0 else { throw l.fail("SAME padding (-233/-234) with stride \(s) is not supported") }
            padding = d * (k - 1) / 2
        } else {
            guard pads.allSatisfy({ $0 >= 0 }) else { throw l.fail("padding \(pads) is not supported") }
            let value = try l.float(18, 0)
            if Set(pads).count == 1 && value == 0 {
                padding = pads[0]
            } else {
                x = add(.pad(Padding(top: pads[0], left: pads[1], bottom: pads[2], right: pads[3], mode: .constant(value))),
                        [x], l.name + ".pad")
                padding = 0
            }
        }
        let conv = Convolution(weights: Tensor(shape: .init(out, cinPerGroup, k, k), data: w.values), bias: bias, stride: s,
                               padding: padding, groups: group, dilation: d)
        var y = add(.conv(conv), [x], l.name)
        if let a = try NCNNImporter.activation(l) { y = add(.activation(a), [y], l.name + ".act") }
        output(l, y)
    }

    mutating func deconvolution(_ l: NCNNLayer, x: Int, depthwise: Bool) throws {
        let out = try l.int(0, 0), size = try l.int(6, 0), group = depthwise ? try l.int(7, 1) : 1
        let (k, d, s, pads) = try NCNNImporter.geometry(l)
        guard try l.int(18, 0) == 0, try l.int(19, 0) == 0, try l.int(20, 0) == 0, try l.int(21, 0) == 0 else {
            throw l.fail("output padding or a fixed output size is not supported")
        }
        guard pads.allSatisfy({ $0 >= 0 }) else { throw l.fail("padding \(pads) is not supported") }
        guard out >= 1, group >= 1, out % group == 0, size > 0, size % (out * k * k) == 0 else {
            throw l.fail("weight_data_size \(size) does not fit \(out) outputs of \(k)x\(k) in \(group) groups")
        }
        let w = try load(size, type: 0, l, "weights")
        guard !w.int8 else { throw l.fail("int8 deconvolution weights are not supported") }
        let bias = try l.int(5, 0) != 0 ? try load(out, type: 1, l, "biases").values : nil
        let symmetric = Set(pads).count == 1
        let deconv = Deconvolution(weights: Tensor(shape: .init(out, size / (out * k * k), k, k), data: w.values), bias: bias,
                                   stride: s, padding: symmetric ? pads[0] : 0, groups: group, dilation: d,
                                   activation: try NCNNImporter.activation(l))
        var y = add(.deconv(deconv), [x], l.name)
        if !symmetric { y = add(.crop(top: pads[0], left: pads[1], bottom: pads[2], right: pads[3]), [y], l.name + ".crop") }
        output(l, y)
    }

    mutating func innerProduct(_ l: NCNNLayer, x: Int) throws {
        guard global.contains(x) else {
            throw l.fail("InnerProduct on a full-size tensor (flatten) is not supported; only after global pooling")
        }
        let out = try l.int(0, 0), size = try l.int(2, 0)
        guard out >= 1, size > 0, size % out == 0 else { throw l.fail("weight_data_size \(size) does not fit \(out) outputs") }
        var w = try load(size, type: 0, l, "weights")
        let bias = try l.int(1, 0) != 0 ? try load(out, type: 1, l, "biases").values : nil
        if try l.int(8, 0) != 0 {
            let scales = try load(out, type: 1, l, "int8 weight scales").values
            _ = try load(1, type: 1, l, "int8 input scale")
            let per = size / out
            for o in 0..<out where scales[o] != 0 { for j in 0..<per { w.values[o * per + j] /= scales[o] } }
        } else if w.int8 {
            throw l.fail("int8 weights without int8 scales (8=0)")
        }
        var y = add(.conv(Convolution(weights: Tensor(shape: .init(out, size / out, 1, 1), data: w.values), bias: bias)),
                    [x], l.name, global: true)
        if let a = try NCNNImporter.activation(l) { y = add(.activation(a), [y], l.name + ".act", global: true) }
        output(l, y)
    }

    mutating func pooling(_ l: NCNNLayer, x: Int) throws {
        let type = try l.int(0, 0)
        if try l.int(4, 0) != 0 {
            guard type == 1 else { throw l.fail("global max pooling is not supported") }
            output(l, add(.globalMean, [x], l.name, global: true))
            return
        }
        guard try l.int(7, 0) == 0 else { throw l.fail("adaptive pooling is not supported") }
        guard type == 0 else { throw l.fail("average pooling over windows is not supported (global average is)") }
        let kw = try l.int(1, 0), kh = try l.int(11, kw), sw = try l.int(2, 1), sh = try l.int(12, sw)
        let left = try l.int(3, 0), right = try l.int(14, left), top = try l.int(13, left), bottom = try l.int(15, top)
        let padMode = try l.int(5, 0)
        guard kw == kh, sw == sh, Set([left, right, top, bottom]).count == 1 else {
            throw l.fail("non-square or asymmetric max pooling is not supported")
        }
        // pad_mode 0 rounds the output size up (Caffe); equal to PyTorch's floor only at stride 1.
        guard padMode == 1 || (padMode == 0 && sw == 1) else { throw l.fail("max pooling pad_mode \(padMode) is not supported") }
        output(l, add(.maxPool(kernel: kw, stride: sw, padding: left), [x], l.name))
    }
}
