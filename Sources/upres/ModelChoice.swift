import ArgumentParser
import Foundation
import UpresEngine
import UpresKit

/// `--model` takes a file path or the name of a built-in model.
enum ModelSource {
    static func load(_ nameOrPath: String, ncnn: NCNNOverrides = .init()) throws -> Model {
        if nameOrPath.hasSuffix(".param") || nameOrPath.hasSuffix(".bin") {
            // An ncnn pair: NAME.param (layers) + NAME.bin (weights); either path names it.
            let param = URL(fileURLWithPath: nameOrPath).deletingPathExtension().appendingPathExtension("param")
            return try Model(ncnnParam: param, overrides: ncnn)
        }
        if FileManager.default.fileExists(atPath: nameOrPath) {
            return try Model(contentsOf: URL(fileURLWithPath: nameOrPath))
        }
        if let m = try EmbeddedModels.model(named: nameOrPath) { return m }
        let builtIn = EmbeddedModels.names
        throw ModelFileError("\(nameOrPath): no such model file or built-in model"
                             + (builtIn.isEmpty ? "" : " (built-in: \(builtIn.joined(separator: ", ")))"))
    }

    /// A routing branch named by a family's hard model: a built-in model for built-in families,
    /// a file (`NAME.safetensors` or the name as a path) beside a model file.
    static func branch(_ name: String, besideOf family: String) throws -> Model? {
        if !FileManager.default.fileExists(atPath: family) { return try EmbeddedModels.model(named: name) }
        let dir = URL(fileURLWithPath: family).deletingLastPathComponent()
        for candidate in [name, name + ".safetensors"] {
            let url = candidate.hasPrefix("/") ? URL(fileURLWithPath: candidate) : dir.appendingPathComponent(candidate)
            if FileManager.default.fileExists(atPath: url.path) { return try Model(contentsOf: url) }
        }
        return try EmbeddedModels.model(named: name)
    }
}

enum PrecisionChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, fp32, bf16, int8

    /// `auto`: int8 where the CPU has VNNI and every network of the family is calibrated with a
    /// recorded int8 check within 0.05 dB (`int8_psnr_delta_db`, from `upres calibrate`); else
    /// bf16 where the CPU has bf16 kernels, unless the model file records that bf16 costs it
    /// more than 0.05 dB (`bf16_psnr_delta_db`, measured at export); else fp32.
    func resolve(for models: [Model]) throws -> Precision {
        switch self {
        case .auto:
            if Precision.hasVNNI && models.allSatisfy(\.info.int8Allowed) { return .int8 }
            return Precision.bf16.isSupported && models.allSatisfy(\.info.bf16Allowed) ? .bf16 : .fp32
        case .int8:
            if let m = models.first(where: { $0.info.metadata[Int8Calibration.metadataKey] == nil }) {
                Diagnostics.error("--precision int8: \(m.info.displayName) has no int8 calibration; run upres calibrate on it, or use auto")
                throw ExitCode(ExitStatus.usage)
            }
            return .int8
        case .fp32: return .fp32
        case .bf16:
            guard Precision.bf16.isSupported else {
                Diagnostics.error("--precision bf16: this CPU has no bf16 kernels (oneDNN ISA \(Precision.cpuISA)); use fp32 or auto")
                throw ExitCode(ExitStatus.usage)
            }
            return .bf16
        }
    }
}
