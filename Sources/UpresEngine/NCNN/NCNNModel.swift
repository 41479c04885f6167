import Foundation

/// What an ncnn file cannot say about itself, given by the user (`--model-scale`,
/// `--model-range`, `--model-order`).
public struct NCNNOverrides: Sendable, Equatable {
    public enum ColourOrder: String, Sendable, CaseIterable { case rgb, bgr }
    /// The scale the network must produce (loading fails otherwise).
    public var scale: Int?
    /// The value the network takes for white: 1 (inputs in [0, 1]) or 255.
    public var range: Float?
    /// The channel order the network takes.
    public var order: ColourOrder?

    public init(scale: Int? = nil, range: Float? = nil, order: ColourOrder? = nil) {
        self.scale = scale
        self.range = range
        self.order = order
    }
}

extension Model {
    /// Loads an ncnn network (`name.param` text with `name.bin` beside it, as shipped by
    /// Real-ESRGAN-ncnn-vulkan, waifu2x-ncnn-vulkan and SPAN) as an upres model. The graph takes
    /// upres's RGB convention, planar NCHW floats in [0, 1], and returns the same; the model's
    /// own channel order and range (`info.metadata["colour_order"]`, `["input_range"]`) are
    /// applied inside the graph. Networks that shrink their input (waifu2x's unpadded
    /// convolutions) get the missing border as edge-replicating padding, as waifu2x-ncnn-vulkan
    /// pads its tiles, so the model maps n x n to (scale n) x (scale n) like every upres model.
    ///
    ///     let m = try Model(ncnnParam: URL(fileURLWithPath: "realesr-animevideov3-x2.param"))
    ///     m.info.scale            // 2
    ///     m.info.receptiveField   // side of the input window one output pixel depends on
    /// - Parameter readInt8Sidecar: false ignores `NAME.int8.json` (`upres calibrate` replacing it).
    public convenience init(ncnnParam param: URL, bin: URL? = nil, overrides: NCNNOverrides = .init(), readInt8Sidecar: Bool = true) throws {
        let binURL = bin ?? param.deletingPathExtension().appendingPathExtension("bin")
        let paramData: Data
        do { paramData = try ModelFileReader.read(param, limit: NCNNParamFile.maxBytes) } catch {
            throw NCNNError("\(param.path): \(error)")
        }
        guard let text = String(data: paramData, encoding: .utf8) else {
            throw NCNNError("\(param.path): not UTF-8 text, not an ncnn .param (binary .param.bin files are not supported)")
        }
        guard FileManager.default.fileExists(atPath: binURL.path) else {
            throw NCNNError("\(binURL.path): no weights file beside \(param.lastPathComponent) (an ncnn model is NAME.param + NAME.bin)")
        }
        let bytes: [UInt8]
        do { bytes = [UInt8](try ModelFileReader.read(binURL)) } catch {
            throw NCNNError("\(binURL.path): \(error)")
        }
        let file = try NCNNParamFile(text: text, source: param.path)
        let imported = try NCNNImporter.build(file, weights: NCNNWeightReader(bytes: bytes, source: binURL.path), source: param.path)
        var (graph, info) = try NCNNModelBuilder.finish(imported, file: file, name: param.deletingPathExtension().lastPathComponent,
                                                       param: param.path, bin: binURL.path, overrides: overrides)
        if readInt8Sidecar { info.metadata.merge(try NCNNInt8Sidecar.read(forParam: param, weights: bytes)) { _, new in new } }
        self.init(graph: graph, info: info)
    }
}

/// Infers what the files do not state (channels, scale, border, range) and wraps the network
/// in upres's input convention.
enum NCNNModelBuilder {
    static func finish(_ b: NCNNImporter, file: NCNNParamFile, name: String, param: String, bin: String,
                       overrides o: NCNNOverrides) throws -> (Graph, ModelInfo) {
        func fail(_ m: String) -> NCNNError { NCNNError("\(param): \(m)") }
        let output = try outputNode(b, file: file, param: param)
        let net = Graph(nodes: b.nodes, output: output)

        // Channels: as declared by the Input layer, else the first count the graph accepts.
        var channels: Int? = nil
        var firstError: Error? = nil
        for c in b.declaredChannels.map({ [$0] }) ?? [3, 1, 4] {
            do { _ = try net.shapes(input: .init(1, c, 64, 64)); channels = c; break } catch { firstError = firstError ?? error }
        }
        guard let c = channels else { throw fail("the network does not run on a 64x64 input: \(firstError.map { "\($0)" } ?? "")") }
        guard c == 1 || c == 3 else { throw fail("the network takes \(c) channels; upres runs 1 (luma) or 3 (RGB) channel models") }

        // Scale and border from two probe sizes per axis: out = scale * in - 2 * border * scale.
        func size(_ h: Int, _ w: Int) throws -> Tensor.Shape {
            do { return try net.shapes(input: .init(1, c, h, w))[output] } catch { throw fail("probing the output size: \(error)") }
        }
        let s1 = try size(64, 64), s2 = try size(96, 128)
        let scaleH = (s2.h - s1.h) / 32, scaleW = (s2.w - s1.w) / 64
        guard scaleH >= 1, scaleH == scaleW, (s2.h - s1.h) % 32 == 0, (s2.w - s1.w) % 64 == 0 else {
            throw fail("the output (\(s1.h)x\(s1.w) from 64x64, \(s2.h)x\(s2.w) from 96x128) is not a fixed multiple of the input")
        }
        let scale = scaleH
        let lossH = 64 * scale - s1.h, lossW = 64 * scale - s1.w
        guard lossH >= 0, lossW >= 0, lossH % (2 * scale) == 0, lossW % (2 * scale) == 0 else {
            throw fail("the network maps 64x64 to \(s1.h)x\(s1.w): not x\(scale) with a whole input border")
        }
        if let want = o.scale, want != scale { throw fail("--model-scale \(want), but the network scales by \(scale)") }
        guard (1...8).contains(scale) else { throw fail("scale \(scale) is outside 1...8") }
        guard s1.c == c else { throw fail("the network takes \(c) channels and returns \(s1.c)") }
        let border = (lossH / (2 * scale), lossW / (2 * scale))

        // Range: option, else a mean subtraction right after the input tells, else [0, 1] (what
        // Real-ESRGAN, waifu2x and SPAN ncnn models take).
        let (range, rangeSource) = o.range.map { ($0, "option") } ?? inferRange(net)
        let order = o.order ?? .rgb
        let graph = wrap(net, channels: c, range: range, bgr: order == .bgr && c == 3, border: border)

        let probe = Tensor.Shape(1, c, 64, 64)
        guard try graph.shapes(input: probe)[graph.output] == .init(1, c, 64 * scale, 64 * scale) else {
            throw fail("internal: the wrapped network is not x\(scale)")
        }
        let multiple = inputMultiple(graph, channels: c, scale: scale)
        var types: [String: Int] = [:]
        for l in file.layers { types[l.type, default: 0] += 1 }
        let typeList = types.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        var metadata: [String: String] = [
            "format": "ncnn", "arch": "ncnn", "scale": "\(scale)", "in_channels": "\(c)",
            "colour_order": c == 3 ? order.rawValue : "luma",
            "input_range": range == 1 ? "1" : String(format: "%g", range), "input_range_source": rangeSource,
            "input_layout": "NCHW float, \(c == 3 ? "RGB" : "luma") in [0, 1] (the model's own order and range are applied inside the graph)",
            "ncnn_layers": "\(file.layers.count)", "ncnn_layer_types": typeList,
        ]
        if border != (0, 0) { metadata["input_border"] = "\(border.0)x\(border.1) replicated (the network crops it)" }
        if multiple > 1 { metadata["input_multiple"] = "\(multiple)" }
        let config = "{\"format\":\"ncnn\",\"layers\":\(file.layers.count),\"scale\":\(scale),\"channels\":\(c)}"
        let info = ModelInfo(name: name, arch: "ncnn", scale: scale, inChannels: c, outChannels: c,
                             receptiveField: graph.receptiveField(scale: scale, channels: c),
                             macsPerPixel: try graph.multiplyAdds(input: probe) / (64 * 64), parameters: b.parameters,
                             config: config, provenance: ["param": param, "bin": bin], metadata: metadata, file: param)
        return (graph, info)
    }

    /// The blob no layer reads (the last such, or the one named like an output).
    static func outputNode(_ b: NCNNImporter, file: NCNNParamFile, param: String) throws -> Int {
        let read = Set(file.layers.flatMap(\.bottoms))
        let unread = file.layers.flatMap(\.tops).filter { !read.contains($0) }
        let named = unread.first { ["output", "out0", "out"].contains($0) } ?? unread.last
        guard let name = named, case .node(let i) = b.blobs[name] else { throw NCNNError("\(param): no output blob") }
        guard i != 0 else { throw NCNNError("\(param): the output is the input (no layers between them)") }
        return i
    }

    static func inferRange(_ g: Graph) -> (Float, String) {
        for n in g.nodes where n.inputs == [0] {
            if case .channelAffine(let a, let b) = n.op, a.allSatisfy({ $0 == 1 }), b.contains(where: { $0 != 0 }) {
                return b.contains { abs($0) > 1 } ? (255, "mean subtraction in 0-255") : (1, "mean subtraction in 0-1")
            }
        }
        return (1, "default")
    }

    /// input (RGB in [0, 1]) -> [BGR] -> [x range] -> [border] -> network -> [/ range] -> [RGB].
    static func wrap(_ net: Graph, channels c: Int, range: Float, bgr: Bool, border: (Int, Int)) -> Graph {
        var pre: [Node] = []
        var post: [Node] = []
        if bgr { pre.append(Node(op: .channelPermute([2, 1, 0]), inputs: [], name: "to BGR")) }
        if range != 1 { pre.append(Node(op: .activation(.linear(scale: range, shift: 0)), inputs: [], name: "to range")) }
        if border != (0, 0) {
            pre.append(Node(op: .pad(Padding(top: border.0, left: border.1, bottom: border.0, right: border.1, mode: .replicate)),
                            inputs: [], name: "border"))
        }
        if range != 1 { post.append(Node(op: .activation(.linear(scale: 1 / range, shift: 0)), inputs: [], name: "from range")) }
        if bgr { post.append(Node(op: .channelPermute([2, 1, 0]), inputs: [], name: "to RGB")) }
        var nodes = [net.nodes[0]]
        for var n in pre { n.inputs = [nodes.count - 1]; nodes.append(n) }
        let shift = pre.count
        let netInput = nodes.count - 1
        func map(_ k: Int) -> Int { k == 0 ? netInput : k + shift }
        for var n in net.nodes.dropFirst() {
            n.inputs = n.inputs.map(map)
            if case .conv(var conv) = n.op {
                conv.postOps = conv.postOps.map {
                    switch $0 {
                    case .add(let k): return .add(map(k))
                    case .mul(let k): return .mul(map(k))
                    case .activation: return $0
                    }
                }
                n.op = .conv(conv)
            }
            nodes.append(n)
        }
        var out = map(net.output)
        if !post.isEmpty {
            // The network's output must be the last node for the appended ones to follow it.
            for var n in post { n.inputs = [out]; nodes.append(n); out = nodes.count - 1 }
        }
        return Graph(nodes: nodes, output: out)
    }

    /// The smallest input-size multiple for which the graph is exactly x`scale` (U-Nets with
    /// stride-2 stages need even sizes); 1 when every size works.
    static func inputMultiple(_ g: Graph, channels c: Int, scale: Int) -> Int {
        func works(_ n: Int) -> Bool {
            guard let s = try? g.shapes(input: .init(1, c, n, n + 1))[g.output] else { return false }
            return s.h == n * scale && s.w == (n + 1) * scale
        }
        if (40...47).allSatisfy(works) { return 1 }
        for m in [2, 4, 8, 16, 32] where stride(from: 64, through: 64 + 4 * m, by: m).allSatisfy({ n in
            guard let s = try? g.shapes(input: .init(1, c, n, n + m))[g.output] else { return false }
            return s.h == n * scale && s.w == (n + m) * scale
        }) {
            return m
        }
        return 64
    }
}
