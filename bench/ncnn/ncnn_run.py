"""Runs an ncnn model on the CPU with exact fp32 settings (no fp16/bf16 storage, no int8, direct
convolutions) for golden outputs, or with ncnn's defaults for the benchmark."""
import numpy as np


def load(param, bin_path, threads=1, exact=True):
    import ncnn
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = threads
    if exact:
        # Direct convolutions: Winograd's transforms lose precision on large activations
        # (SPAN's x255 inputs): 5e-3 relative between ncnn's own algorithms on spanx2_ch48.
        for flag in ("use_fp16_packed", "use_fp16_storage", "use_fp16_arithmetic", "use_bf16_storage",
                     "use_int8_inference", "use_winograd_convolution", "use_sgemm_convolution"):
            if hasattr(net.opt, flag):
                setattr(net.opt, flag, False)
    if net.load_param(str(param)) != 0:
        raise RuntimeError(f"ncnn could not load {param}")
    if net.load_model(str(bin_path)) != 0:
        raise RuntimeError(f"ncnn could not load {bin_path}")
    return net


def run(net, x):
    """x: (c, h, w) float32 -> (c', h', w') float32 (the last output blob)."""
    import ncnn
    ex = net.create_extractor()
    ex.input(net.input_names()[0], ncnn.Mat(np.ascontiguousarray(x, dtype=np.float32)))
    ret, out = ex.extract(net.output_names()[-1])
    if ret != 0:
        raise RuntimeError(f"ncnn extract failed ({ret})")
    return np.array(out, dtype=np.float32).copy()
