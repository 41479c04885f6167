import CDNNL
import CEngineShims

/// Arithmetic precision of a session's activations and weights.
/// int8: u8 activations with one step and zero point per tensor from the model's calibration
/// (`Int8Calibration`), s8 weights with one scale per output channel, s32 accumulation.
public enum Precision: String, CaseIterable, Sendable {
    case fp32, bf16, int8

    /// Whether oneDNN has kernels for this precision on this CPU (bf16 needs AVX-512 BF16
    /// or AMX; on AVX2-only CPUs oneDNN 2.6 has no bf16 convolution). int8 runs everywhere
    /// oneDNN does, but is only faster than bf16 with VNNI (`hasVNNI`).
    public var isSupported: Bool {
        switch self {
        case .fp32: return true
        case .bf16: return Precision.bf16Supported
        case .int8: return Precision.int8Supported
        }
    }

    /// Whether oneDNN dispatches to an ISA with VNNI (`vpdpbusd`): int8 multiply-adds at twice
    /// bf16's rate. Follows `DNNL_MAX_CPU_ISA`, as oneDNN does.
    public static var hasVNNI: Bool {
        [dnnl_cpu_isa_avx2_vnni, dnnl_cpu_isa_avx512_core_vnni, dnnl_cpu_isa_avx512_core_bf16,
         dnnl_cpu_isa_avx512_core_amx].contains(dnnl_get_effective_cpu_isa())
    }

    private static let int8Supported: Bool = {
        guard let ctx = try? DNNLContext() else { return false }
        var s = (try? MemoryDesc.make([1, 16, 8, 8], dnnl_u8, dnnl_nhwc)) ?? dnnl_memory_desc_t()
        var w = (try? MemoryDesc.make([16, 16, 3, 3], dnnl_s8, dnnl_format_tag_any)) ?? dnnl_memory_desc_t()
        var d = s
        var desc = dnnl_convolution_desc_t()
        guard dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct, &s, &w, nil, &d,
                                                 [1, 1], [1, 1], [1, 1]) == dnnl_success,
              (try? makePrimitiveDesc(&desc, nil, ctx, "int8 probe")) != nil else { return false }
        return true
    }()

    private static let bf16Supported: Bool = {
        guard let ctx = try? DNNLContext() else { return false }
        var s = (try? MemoryDesc.make([1, 16, 8, 8], dnnl_bf16, dnnl_nhwc)) ?? dnnl_memory_desc_t()
        var w = (try? MemoryDesc.make([16, 16, 3, 3], dnnl_bf16, dnnl_format_tag_any)) ?? dnnl_memory_desc_t()
        var d = s
        var desc = dnnl_convolution_desc_t()
        guard dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct, &s, &w, nil, &d,
                                                 [1, 1], [1, 1], [1, 1]) == dnnl_success,
              (try? makePrimitiveDesc(&desc, nil, ctx, "bf16 probe")) != nil else { return false }
        return true
    }()

    /// The instruction set oneDNN dispatches to on this CPU (`avx2`, `avx512_core_bf16`...).
    public static var cpuISA: String {
        switch dnnl_get_effective_cpu_isa() {
        case dnnl_cpu_isa_avx2: return "avx2"
        case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni"
        case dnnl_cpu_isa_avx512_core: return "avx512_core"
        case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni"
        case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16"
        case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx"
        case dnnl_cpu_isa_sse41: return "sse41"
        case dnnl_cpu_isa_avx: return "avx"
        default: return "other"
        }
    }
}
