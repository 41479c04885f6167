#!/usr/bin/env python3
"""Writes the small self-made ncnn fixtures of Tests/UpresEngineTests/NCNNFixtures: random-weight
networks (fixed seeds) that use every layer and weight storage upres imports, and, with ncnn's
PyPI package, each one's output on a fixed input (NAME.golden.safetensors).

    /var/tmp/ncnn-venv/bin/python bench/ncnn/make-fixtures.py [out_dir]

Our own data (no third-party weights): committed, a few KB each.
"""
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ncnn_run  # noqa: E402
from golden_file import write_golden  # noqa: E402

FP16_TAG, INT8_TAG = 0x01306B47, 0x000D4B38


class Net:
    def __init__(self, seed):
        self.lines, self.bin, self.blobs = [], bytearray(), []
        self.rng = np.random.default_rng(seed)

    def layer(self, kind, name, bottoms, tops, params=""):
        for t in tops:
            self.blobs.append(t)
        self.lines.append(f"{kind:<22} {name:<14} {len(bottoms)} {len(tops)} {' '.join(bottoms + tops)} {params}".rstrip())

    def rand(self, n, scale=0.3):
        return (self.rng.random(n, dtype=np.float32) * 2 - 1) * scale

    def raw(self, values):
        self.bin += np.asarray(values, np.float32).tobytes()

    def tagged(self, values, storage="fp32"):
        v = np.asarray(values, np.float32)
        if storage == "fp32":
            self.bin += struct.pack("<I", 0) + v.tobytes()
        elif storage == "fp16":
            b = v.astype(np.float16).tobytes()
            self.bin += struct.pack("<I", FP16_TAG) + b + b"\0" * (-len(b) % 4)
        elif storage == "table":
            table = np.linspace(-0.4, 0.4, 256, dtype=np.float32)
            idx = np.clip(np.round((v + 0.4) / 0.8 * 255), 0, 255).astype(np.uint8)
            self.bin += bytes([1, 0, 0, 0]) + table.tobytes() + idx.tobytes() + b"\0" * (-len(idx) % 4)
        else:
            raise ValueError(storage)

    def write(self, directory, name):
        with open(os.path.join(directory, name + ".param"), "w") as f:
            f.write("7767517\n")
            f.write(f"{len(self.lines)} {len(set(self.blobs))}\n")
            f.write("\n".join(self.lines) + "\n")
        with open(os.path.join(directory, name + ".bin"), "wb") as f:
            f.write(self.bin)


def conv(n, name, bottom, top, cin, cout, k, extra="", storage="fp32", bias=True, group=1, kind="Convolution"):
    size = cout * (cin // group) * k * k
    params = f"0={cout} 1={k} 5={int(bias)} 6={size} {extra}"
    if kind.endswith("DepthWise"):
        params += f" 7={group}"
    n.layer(kind, name, [bottom], [top], params)
    n.tagged(n.rand(size), storage)
    if bias:
        n.raw(n.rand(cout, 0.1))


def conv_layers():
    """Convolution options, fused activations and every weight storage."""
    n = Net(1)
    n.layer("Input", "in", [], ["data"], "0=23 1=19 2=3")
    conv(n, "c1", "data", "a1", 3, 8, 3, "4=1 9=1")
    conv(n, "c2", "a1", "a2", 8, 8, 3, "2=2 4=2 9=2 -23310=1,0.1", storage="fp16")
    conv(n, "dw", "a2", "a3", 8, 8, 3, "4=1 9=3 -23310=2,-0.2,0.25", storage="table", group=8,
         kind="ConvolutionDepthWise")
    conv(n, "c3", "a3", "a4", 8, 6, 1, "9=4", bias=False)
    conv(n, "c4", "a4", "a5", 6, 5, 3, "4=1 15=1 14=0 16=2 9=5")
    conv(n, "c5", "a5", "a6", 5, 4, 3, "3=2 4=1")
    conv(n, "c6", "a6", "a7", 4, 4, 3, "4=-233 9=1")
    conv(n, "c7", "a7", "a8", 4, 3, 3, "4=1 18=0.5")
    return n, (3, 19, 23)


def elementwise_layers():
    """Splits, binary ops with tensors, constants and scalars, activations, norms, concat, shuffle."""
    n = Net(2)
    n.layer("Input", "in", [], ["data"])
    n.layer("Split", "sp0", ["data"], ["d0", "d1"])
    n.layer("MemoryData", "mean", [], ["mean"], "0=1 1=1 2=3")
    n.raw([0.45, 0.43, 0.40])
    n.layer("BinaryOp", "sub", ["d0", "mean"], ["x0"], "0=1")
    n.layer("BinaryOp", "mul255", ["x0"], ["x1"], "0=2 1=1 2=2.5")
    conv(n, "c1", "x1", "c1", 3, 8, 3, "4=1")
    n.layer("Split", "sp1", ["c1"], ["s0", "s1", "s2", "s3", "s4"])
    n.layer("PReLU", "prelu", ["s0"], ["p"], "0=8")
    n.raw(n.rand(8))
    n.layer("ReLU", "leaky", ["s1"], ["r"], "0=0.2")
    n.layer("BinaryOp", "add", ["p", "r"], ["e0"], "0=0")
    n.layer("BinaryOp", "subt", ["e0", "s2"], ["e1"], "0=1")
    n.layer("BinaryOp", "mult", ["e1", "s3"], ["e2"], "0=2")
    n.layer("Sigmoid", "sig", ["e2"], ["e3"])
    n.layer("BinaryOp", "rsub", ["e3"], ["e4"], "0=7 1=1 2=1.0")
    n.layer("BinaryOp", "div", ["e4"], ["e5"], "0=3 1=1 2=4.0")
    n.layer("TanH", "tanh", ["e5"], ["e6"])
    n.layer("Swish", "swish", ["e6"], ["e7"])
    n.layer("Mish", "mish", ["e7"], ["e8"])
    n.layer("Clip", "clip", ["e8"], ["e9"], "0=-0.3 1=0.4")
    n.layer("BinaryOp", "maxs", ["e9"], ["e10"], "0=4 1=1 2=-0.1")
    n.layer("Eltwise", "esum", ["e10", "s4"], ["f0"], "0=1 -23301=2,0.5,-1.5")
    n.layer("Split", "sp2", ["f0"], ["f1", "f2"])
    n.layer("Eltwise", "eprod", ["f1", "f2"], ["f3"], "0=0")
    n.layer("BatchNorm", "bn", ["f3"], ["f4"], "0=8 1=0.001")
    n.raw(1 + n.rand(8)); n.raw(n.rand(8)); n.raw(1 + n.rand(8, 0.5)); n.raw(n.rand(8))
    n.layer("Scale", "scale", ["f4"], ["f5"], "0=8 1=1")
    n.raw(n.rand(8)); n.raw(n.rand(8))
    n.layer("Dropout", "drop", ["f5"], ["f6"])
    n.layer("Split", "sp3", ["f6"], ["g0", "g1"])
    n.layer("GELU", "gelu", ["g1"], ["g2"])
    n.layer("Concat", "cat", ["g0", "g2"], ["h0"], "0=0")
    n.layer("PReLU", "prelu1", ["h0"], ["h1"], "0=1")
    n.raw([0.25])
    n.layer("MemoryData", "w16", [], ["w16"], "0=16")
    n.raw(1 + n.rand(16))
    n.layer("BinaryOp", "mulc", ["h1", "w16"], ["h2"], "0=2")
    conv(n, "c2", "h2", "c2", 16, 12, 1)
    n.layer("PixelShuffle", "ps", ["c2"], ["ps"], "0=2")
    n.layer("Interp", "up", ["d1"], ["up"], "0=1 1=2.0 2=2.0")
    n.layer("BinaryOp", "skip", ["ps", "up"], ["out"], "0=0")
    return n, (3, 17, 21)


def resize_layers():
    """Interp: nearest, bilinear (also align_corner), bicubic, integer and fractional factors."""
    n = Net(3)
    n.layer("Input", "in", [], ["data"])
    n.layer("Split", "sp", ["data"], ["a", "b", "c", "d", "e"])
    n.layer("Interp", "n2", ["a"], ["a1"], "0=1 1=2.0 2=2.0")
    n.layer("Interp", "a2", ["a1"], ["a2"], "0=3 1=0.5 2=0.5")
    n.layer("Interp", "b1", ["b"], ["b1"], "0=2 1=2.0 2=3.0")
    n.layer("Interp", "b2", ["b1"], ["b2"], "0=3 1=0.5 2=3.333334e-01")
    n.layer("Interp", "c1", ["c"], ["c1"], "0=3 1=2.0 2=2.0")
    n.layer("Interp", "c2", ["c1"], ["c2"], "0=2 1=0.5 2=0.5")
    n.layer("Interp", "d1", ["d"], ["d1"], "0=2 1=2.0 2=2.0 6=1")
    n.layer("Interp", "d2", ["d1"], ["d2"], "0=3 1=0.5 2=0.5 6=1")
    n.layer("Interp", "e1", ["e"], ["e1"], "0=1 1=1.5 2=1.5")
    n.layer("Interp", "e2", ["e1"], ["e2"], "0=2 1=0.7 2=0.7")
    n.layer("Concat", "cat", ["a2", "b2", "c2", "d2", "e2"], ["out"])
    return n, (3, 13, 11)


def unet_layers():
    """waifu2x-style: paddings, unpadded and strided convolutions, squeeze-excitation, transposed
    convolutions, crops by reference and by margins, max pooling."""
    n = Net(4)
    n.layer("Input", "in", [], ["data"])
    n.layer("Padding", "rep", ["data"], ["p0"], "0=2 1=2 2=2 3=2 4=1")
    n.layer("Padding", "refl", ["p0"], ["p1"], "0=1 1=2 2=3 3=0 4=2")
    n.layer("Padding", "const", ["p1"], ["p2"], "0=1 1=0 2=0 3=1 4=0 5=0.5")
    conv(n, "c1", "p2", "c1", 3, 8, 3, "9=2 -23310=1,0.1")
    n.layer("Split", "sp1", ["c1"], ["k0", "k1"])
    conv(n, "down", "k1", "dn", 8, 8, 2, "3=2 9=2 -23310=1,0.1")
    n.layer("Split", "sp2", ["dn"], ["dn0", "dn1"])
    n.layer("Pooling", "gap", ["dn1"], ["gap"], "0=1 4=1")
    n.layer("InnerProduct", "fc1", ["gap"], ["fc1"], "0=4 1=1 2=32 9=1")
    n.tagged(n.rand(32)); n.raw(n.rand(4, 0.1))
    n.layer("InnerProduct", "fc2", ["fc1"], ["fc2"], "0=8 1=1 2=32 9=4")
    n.tagged(n.rand(32)); n.raw(n.rand(8, 0.1))
    n.layer("Scale", "se", ["dn0", "fc2"], ["se"], "0=-233")
    n.layer("Deconvolution", "up", ["se"], ["up"], "0=8 1=2 3=2 5=1 6=256 9=2 -23310=1,0.1")
    n.tagged(n.rand(256)); n.raw(n.rand(8, 0.1))
    n.layer("Split", "sp3", ["up"], ["up0", "up1"])
    n.layer("Crop", "crop", ["k0", "up0"], ["kc"], "0=0 1=0")
    n.layer("Eltwise", "sum", ["kc", "up1"], ["s"], "0=1")
    n.layer("Pooling", "mp", ["s"], ["mp"], "0=0 1=3 2=1 3=1 5=1")
    n.layer("Deconvolution", "up2", ["mp"], ["u2"], "0=6 1=4 3=2 4=1 5=1 6=768")
    n.tagged(n.rand(768), "fp16"); n.raw(n.rand(6, 0.1))
    n.layer("DeconvolutionDepthWise", "dwup", ["u2"], ["u3"], "0=6 1=3 3=1 4=1 5=0 6=54 7=6")
    n.tagged(n.rand(54))
    n.layer("Deconvolution", "asym", ["u3"], ["u4"], "0=3 1=3 3=1 4=1 15=0 14=0 16=2 5=0 6=162")
    n.tagged(n.rand(162))
    n.layer("Crop", "margins", ["u4"], ["u5"], "0=1 1=2 3=-233 4=-233 5=-233 6=3 7=1")
    n.layer("Crop", "slice", ["u5"], ["out"], "-23309=2,1,2 -23310=2,-1,2147483647 -23311=2,1,2")
    return n, (3, 20, 24)


def border_x2():
    """An SR-shaped net that shrinks its input by 3 pixels a side (like waifu2x's upconv_7): upres
    adds that border itself, so the golden input here is pre-padded by edge replication."""
    n = Net(5)
    n.layer("Input", "in", [], ["data"], "0=32 1=32 2=3")
    conv(n, "c1", "data", "c1", 3, 8, 3, "9=2 -23310=1,0.1")
    conv(n, "c2", "c1", "c2", 8, 8, 3, "9=2 -23310=1,0.1")
    n.layer("Deconvolution", "up", ["c2"], ["out"], "0=3 1=4 3=2 4=3 5=1 6=384")
    n.tagged(n.rand(384)); n.raw(n.rand(3, 0.1))
    return n, (3, 14, 18), 3


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "UpresEngineTests", "NCNNFixtures")
    os.makedirs(out, exist_ok=True)
    for name, make in [("conv-layers", conv_layers), ("elementwise-layers", elementwise_layers),
                       ("resize-layers", resize_layers), ("unet-layers", unet_layers), ("border-x2", border_x2)]:
        made = make()
        net, shape = made[0], made[1]
        border = made[2] if len(made) > 2 else 0
        net.write(out, name)
        x = np.random.default_rng(42).random(shape, dtype=np.float32)
        padded = np.pad(x, ((0, 0), (border, border), (border, border)), mode="edge") if border else x
        m = ncnn_run.load(os.path.join(out, name + ".param"), os.path.join(out, name + ".bin"))
        y = ncnn_run.run(m, padded)
        write_golden(os.path.join(out, name + ".golden.safetensors"),
                     {"input": x[None], "output": y[None]}, {"source": "ncnn (PyPI) CPU fp32", "border": border})
        print(f"{name}: {x.shape} -> {y.shape}")


if __name__ == "__main__":
    main()
