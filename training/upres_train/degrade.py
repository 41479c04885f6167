"""LR degradations as the video path sees them: bicubic downscale, then (optionally) a real
encoder — Pillow JPEG, or FFmpeg's libx264 / libx265 / mpeg2video through the ffmpeg CLI on
4:2:0 frames — decoded back to the 8-bit Y plane.

The whole LR image is encoded (never a patch: the encoder's block grid, rate control and
motion search then behave as on a frame). A video "version" is one or two frames:
`frame="I"` encodes the LR image as a single intra frame; `frame="P"` encodes two frames, the
first the image translated by a few pixels, the second the image itself, and keeps the
decoded second frame (a motion-compensated P frame, which x264/x265 quantise more coarsely
than I frames, as in real video). Y, Cb, Cr are BT.601 limited range computed here (MATLAB
rgb2ycbcr, the same Y as data.rgb_to_y), chroma is the 2x2 mean, and the frames go to ffmpeg
as raw yuv420p, so no swscale conversion touches the Y plane.

    y = encode_lr(lr_rgb, "h264", 28, frame="P", shift=(2, -1))   # uint8 H x W decoded Y
"""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .data import jpeg_roundtrip, rgb_to_y

CODECS = ("jpeg", "h264", "hevc", "mpeg2")

# MATLAB rgb2ycbcr rows for Cb, Cr (RGB in [0, 1], offset 128)
_CB = np.array([-37.797, -74.203, 112.0])
_CR = np.array([112.0, -93.786, -18.214])


def rgb_to_yuv420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """uint8 HWC RGB with even sides -> uint8 planes Y (H x W), Cb, Cr (H/2 x W/2)."""
    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"4:2:0 needs even sides, got {w}x{h}")
    x = rgb.astype(np.float64) / 255.0
    y = np.clip(np.rint(rgb_to_y(rgb).astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
    cb = 128.0 + x @ _CB
    cr = 128.0 + x @ _CR

    def sub(c):
        c = c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        return np.clip(np.rint(c), 0, 255).astype(np.uint8)
    return y, sub(cb), sub(cr)


def _translate(plane: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Shift a plane by (dy, dx) pixels, replicating the edge (content moves, size stays)."""
    h, w = plane.shape
    p = max(abs(dy), abs(dx))
    if p == 0:
        return plane.copy()
    padded = np.pad(plane, p, mode="edge")
    return np.ascontiguousarray(padded[p - dy:p - dy + h, p - dx:p - dx + w])


def _encoder_args(codec: str, level: int) -> tuple[list[str], str, str]:
    """(ffmpeg encoder arguments, raw muxer name, raw demuxer name)"""
    if codec == "h264":
        return (["-c:v", "libx264", "-preset", "medium", "-crf", str(level), "-bf", "0",
                 "-threads", "1", "-x264-params", "log-level=error"], "h264", "h264")
    if codec == "hevc":
        return (["-c:v", "libx265", "-preset", "fast", "-crf", str(level), "-bf", "0",
                 "-x265-params", "log-level=error:pools=1:frame-threads=1"], "hevc", "hevc")
    if codec == "mpeg2":
        return (["-c:v", "mpeg2video", "-q:v", str(level), "-bf", "0", "-g", "12",
                 "-threads", "1"], "mpeg2video", "mpegvideo")
    raise ValueError(f"unknown video codec '{codec}' (use one of {CODECS})")


def encode_video_y(frames: list[tuple[np.ndarray, np.ndarray, np.ndarray]], codec: str,
                   level: int, ffmpeg: str = "ffmpeg") -> np.ndarray:
    """Encode yuv420p frames with `codec` at `level` (CRF for h264/hevc, qscale for mpeg2),
    decode, return the last decoded frame's Y plane (uint8 H x W)."""
    h, w = frames[0][0].shape
    args, fmt, demux = _encoder_args(codec, level)
    raw = b"".join(p.tobytes() for f in frames for p in f)
    with tempfile.TemporaryDirectory(prefix="upres-enc-") as tmp:
        bitstream = Path(tmp) / f"v.{fmt}"
        enc = [ffmpeg, "-v", "error", "-nostdin", "-f", "rawvideo", "-pix_fmt", "yuv420p",
               "-s", f"{w}x{h}", "-r", "25", "-i", "pipe:0", *args, "-f", fmt, str(bitstream)]
        res = subprocess.run(enc, input=raw, capture_output=True)
        if res.returncode != 0:
            raise RuntimeError(f"ffmpeg {codec} encode failed: {res.stderr.decode(errors='replace').strip()}")
        dec = [ffmpeg, "-v", "error", "-nostdin", "-threads", "1", "-f", demux, "-i", str(bitstream),
               "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"]
        res = subprocess.run(dec, capture_output=True)
        if res.returncode != 0:
            raise RuntimeError(f"ffmpeg {codec} decode failed: {res.stderr.decode(errors='replace').strip()}")
    frame_bytes = w * h * 3 // 2
    n = len(res.stdout) // frame_bytes
    if n < 1 or len(res.stdout) % frame_bytes:
        raise RuntimeError(f"ffmpeg {codec}: decoded {len(res.stdout)} bytes, not whole {w}x{h} frames")
    last = res.stdout[(n - 1) * frame_bytes:(n - 1) * frame_bytes + w * h]
    return np.frombuffer(last, dtype=np.uint8).reshape(h, w).copy()


def encode_lr(lr_rgb: np.ndarray, codec: str, level: int, frame: str = "I",
              shift: tuple[int, int] = (0, 0), ffmpeg: str = "ffmpeg") -> np.ndarray:
    """uint8 LR RGB (even sides) -> uint8 decoded Y after `codec` at `level`.
    jpeg: Pillow RGB JPEG (4:2:0) at quality `level`, decoded, then Y. Video codecs: see the
    module docstring (`frame` "I" or "P", `shift` = the first frame's translation for "P")."""
    if codec == "jpeg":
        return np.clip(np.rint(rgb_to_y(jpeg_roundtrip(lr_rgb, level)) * 255.0), 0, 255).astype(np.uint8)
    planes = rgb_to_yuv420(lr_rgb)
    if frame == "I":
        frames = [planes]
    elif frame == "P":
        dy, dx = shift
        if dy % 2 or dx % 2:  # keep chroma shifts whole pixels
            raise ValueError("P-frame shifts must be even (chroma is subsampled by 2)")
        first = (_translate(planes[0], dy, dx), _translate(planes[1], dy // 2, dx // 2),
                 _translate(planes[2], dy // 2, dx // 2))
        frames = [first, planes]
    else:
        raise ValueError("frame must be 'I' or 'P'")
    return encode_video_y(frames, codec, level, ffmpeg)


def clean_lr_y(lr_rgb: np.ndarray) -> np.ndarray:
    """The uncompressed LR luma as a decoded Y plane would hold it (rounded to 8 bits)."""
    return np.clip(np.rint(rgb_to_y(lr_rgb) * 255.0), 0, 255).astype(np.uint8)
