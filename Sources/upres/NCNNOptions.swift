import ArgumentParser
import UpresEngine

/// What an ncnn model file (`--model NAME.param`) cannot say about itself. The scale is read
/// from the layers (--model-scale checks it); the range is inferred from a mean subtraction at
/// the input when there is one, else 1; the order is taken to be RGB, as in Real-ESRGAN,
/// waifu2x and SPAN ncnn models. See docs/ncnn-models.md.
struct NCNNOptions: ParsableArguments {
    @Option(name: .customLong("model-scale"), help: ArgumentHelp(
        "ncnn models: the scale the network must have (loading fails if its layers say otherwise).", valueName: "n"))
    var scale: Int?

    @Option(name: .customLong("model-range"), help: ArgumentHelp(
        "ncnn models: the pixel value the network takes for white, 1 or 255 (default: inferred, else 1).", valueName: "1|255"))
    var range: Int?

    @Option(name: .customLong("model-order"), help: ArgumentHelp(
        "ncnn models: the channel order the network takes, rgb or bgr (default rgb).", valueName: "rgb|bgr"))
    var order: String?

    func validate() throws {
        if let scale, !(1...8).contains(scale) { throw ValidationError("--model-scale must be between 1 and 8, not \(scale)") }
        if let range, range != 1 && range != 255 { throw ValidationError("--model-range must be 1 or 255, not \(range)") }
        if let order, NCNNOverrides.ColourOrder(rawValue: order) == nil {
            throw ValidationError("--model-order must be rgb or bgr, not '\(order)'")
        }
    }

    var overrides: NCNNOverrides {
        NCNNOverrides(scale: scale, range: range.map(Float.init), order: order.flatMap(NCNNOverrides.ColourOrder.init(rawValue:)))
    }
}
