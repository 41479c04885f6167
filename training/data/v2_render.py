"""Rendering for training data v2 (used by prepare_v2.py): SVG rasterisation with rsvg-convert,
sheets of icons / clip art / portraits composited onto varied backgrounds, and synthetic text
and screen pages drawn with Pillow at the final (HR) resolution. Everything is deterministic
given the numpy Generator passed in.
"""
from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def render_svg(rsvg: str, svg: Path, width: int | None = None, height: int | None = None,
               timeout: float = 30.0) -> Image.Image | None:
    """SVG -> RGBA image via rsvg-convert (aspect kept inside width x height); None if the
    file does not render (broken or too slow)."""
    cmd = [rsvg, "-f", "png"]
    if width:
        cmd += ["-w", str(width)]
    if height:
        cmd += ["-h", str(height)]
    if width and height:
        cmd += ["-a"]
    cmd.append(str(svg))
    try:
        res = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if res.returncode != 0 or not res.stdout:
        return None
    try:
        im = Image.open(io.BytesIO(res.stdout))
        im.load()
    except Exception:
        return None
    return im.convert("RGBA")


def trim24(im: Image.Image) -> Image.Image:
    """Crop to sides that are multiples of 24 (LR sides then even at x2, x3 and x4)."""
    w, h = im.size
    return im.crop((0, 0, w // 24 * 24, h // 24 * 24))


def fit_long_side(im: Image.Image, long_side: int) -> Image.Image:
    """Downscale (Lanczos) so the long side is at most `long_side`; never upscales."""
    w, h = im.size
    if max(w, h) <= long_side:
        return im
    f = long_side / max(w, h)
    return im.resize((max(1, round(w * f)), max(1, round(h * f))), Image.LANCZOS)


def scale_down(im: Image.Image, f: float) -> Image.Image:
    """Lanczos resize by a factor f <= 1."""
    if f > 1:
        raise ValueError("never upscale training images")
    return im.resize((max(1, round(im.size[0] * f)), max(1, round(im.size[1] * f))), Image.LANCZOS)


def _colour(rng, dark=None) -> tuple[int, int, int]:
    c = rng.integers(0, 256, 3)
    if dark is True:
        c = c // 3
    elif dark is False:
        c = 170 + c // 3
    return tuple(int(v) for v in c)


def background(rng, size: tuple[int, int], wallpapers: list[Image.Image]) -> Image.Image:
    """A varied opaque background: flat colour, linear gradient, flat bands, stripes/checks,
    or a crop of a (training-split) flat-art wallpaper."""
    w, h = size
    kind = rng.choice(["flat", "gradient", "bands", "checks", "wallpaper"],
                      p=[0.3, 0.25, 0.15, 0.1, 0.2] if wallpapers else [0.35, 0.3, 0.2, 0.15, 0.0])
    if kind == "flat":
        return Image.new("RGB", size, _colour(rng))
    if kind == "gradient":
        a, b = np.array(_colour(rng), float), np.array(_colour(rng), float)
        ang = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:h, 0:w]
        t = (xx * np.cos(ang) + yy * np.sin(ang))
        t = (t - t.min()) / max(1e-6, t.max() - t.min())
        arr = a[None, None] * (1 - t[..., None]) + b[None, None] * t[..., None]
        return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))
    if kind == "bands":
        im = Image.new("RGB", size, _colour(rng))
        d = ImageDraw.Draw(im)
        for _ in range(int(rng.integers(2, 6))):
            if rng.random() < 0.5:
                y0 = int(rng.integers(0, h))
                d.rectangle([0, y0, w, y0 + int(rng.integers(h // 10, h // 2))], fill=_colour(rng))
            else:
                x0 = int(rng.integers(0, w))
                d.rectangle([x0, 0, x0 + int(rng.integers(w // 10, w // 2)), h], fill=_colour(rng))
        return im
    if kind == "checks":
        im = Image.new("RGB", size, _colour(rng))
        d = ImageDraw.Draw(im)
        step = int(rng.integers(24, 160))
        c2 = _colour(rng)
        stripes = rng.random() < 0.5
        for y in range(0, h, step):
            for x in range(0, w, step):
                if (stripes and (x // step) % 2) or (not stripes and ((x + y) // step) % 2):
                    d.rectangle([x, y, x + step - 1, y + step - 1], fill=c2)
        return im
    wp = wallpapers[int(rng.integers(0, len(wallpapers)))]
    ww, wh = wp.size
    x0 = int(rng.integers(0, max(1, ww - w + 1)))
    y0 = int(rng.integers(0, max(1, wh - h + 1)))
    crop = wp.crop((x0, y0, x0 + w, y0 + h)).convert("RGB")
    if crop.size != size:  # a wallpaper smaller than the sheet: tile it
        tiled = Image.new("RGB", size)
        for yy in range(0, h, crop.size[1]):
            for xx in range(0, w, crop.size[0]):
                tiled.paste(crop, (xx, yy))
        crop = tiled
    return crop


def composite_sheet(rng, size, sprites, wallpapers, shadow_prob=0.2) -> Image.Image:
    """Paste RGBA `sprites` (already at their final size) onto a background at random
    positions (overlaps allowed, some sprites partly off the edge)."""
    sheet = background(rng, size, wallpapers).convert("RGBA")
    w, h = size
    for sp in sprites:
        sw, sh = sp.size
        x = int(rng.integers(-sw // 4, max(1, w - 3 * sw // 4)))
        y = int(rng.integers(-sh // 4, max(1, h - 3 * sh // 4)))
        if rng.random() < shadow_prob:  # a flat drop shadow, common in UI art
            alpha = sp.getchannel("A").point(lambda a: a // 3)
            shadow = Image.new("RGBA", sp.size, (0, 0, 0, 0))
            shadow.putalpha(alpha)
            sheet.paste(shadow, (x + 6, y + 6), shadow)
        if x >= 0 and y >= 0:
            sheet.alpha_composite(sp, (x, y))
        else:
            sheet.paste(sp, (x, y), sp)
    return sheet.convert("RGB")


# ----------------------------------------------------------------------------- text pages

_KEYWORDS = {"function", "local", "end", "if", "then", "else", "return", "for", "in", "do",
             "while", "and", "or", "not", "nil", "true", "false", "def", "class", "import"}


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _wrap(text_words: list[str], font, max_w: int, draw) -> list[str]:
    lines, cur = [], ""
    for word in text_words:
        trial = f"{cur} {word}".strip()
        if draw.textlength(trial, font=font) <= max_w or not cur:
            cur = trial
        else:
            lines.append(cur)
            cur = word
    if cur:
        lines.append(cur)
    return lines


def _cjk_wrap(text: str, font, max_w: int, draw) -> list[str]:
    lines, cur = [], ""
    for ch in text:
        if ch == "\n":
            lines.append(cur)
            cur = ""
            continue
        if draw.textlength(cur + ch, font=font) > max_w and cur:
            lines.append(cur)
            cur = ""
        cur += ch
    if cur:
        lines.append(cur)
    return lines


def _theme(rng):
    if rng.random() < 0.6:
        return _colour(rng, dark=False), _colour(rng, dark=True)   # light page, dark text
    return _colour(rng, dark=True), _colour(rng, dark=False)


def text_page(rng, size, kind: str, text: str, fonts: dict[str, list[str]], aa: bool) -> Image.Image:
    """One synthetic page. kind: prose | code | terminal | ui | cjk. `text` is the source text
    (prose, code or CJK lines); `fonts` maps 'sans'/'serif'/'mono'/'cjk' to font files."""
    w, h = size
    bg, fg = _theme(rng)
    if kind == "terminal":
        bg, fg = (int(rng.integers(0, 40)),) * 3, (int(rng.integers(180, 256)),) * 3
    im = Image.new("RGB", size, bg)
    d = ImageDraw.Draw(im)
    d.fontmode = "L" if aa else "1"
    lines = [ln.rstrip() for ln in text.splitlines()]
    if kind == "ui":
        _ui_page(rng, im, d, fonts, lines, aa)
        return im
    margin = int(rng.integers(8, 60))
    if kind in ("code", "terminal"):
        fsize = int(rng.integers(11, 24))
        font = _font(fonts["mono"][int(rng.integers(0, len(fonts["mono"])))], fsize)
        kw = _colour(rng, dark=bg[0] > 128)
        com = _colour(rng, dark=bg[0] > 128)
        gutter = rng.random() < 0.5 and kind == "code"
        y = margin
        start = int(rng.integers(0, max(1, len(lines) - 10)))
        n = start
        while y < h - fsize and n < len(lines):
            x = margin
            if gutter:
                d.text((x, y), f"{n + 1:4d}", fill=com, font=font)
                x += int(d.textlength("0000  ", font=font))
            line = lines[n].replace("\t", "    ")
            if line.lstrip().startswith(("--", "#", "//", ";")):
                d.text((x, y), line, fill=com, font=font)
            else:
                for tok in line.split(" "):
                    col = kw if tok in _KEYWORDS else fg
                    d.text((x, y), tok, fill=col, font=font)
                    x += int(d.textlength(tok + " ", font=font))
            y += int(fsize * rng.uniform(1.15, 1.5)) if n == start else int(fsize * 1.3)
            n += 1
        return im
    if kind == "cjk":
        fsize = int(rng.integers(12, 30))
        font = _font(fonts["cjk"][int(rng.integers(0, len(fonts["cjk"])))], fsize)
        body = "\n".join(lines)
        start = int(rng.integers(0, max(1, len(body) - 2000)))
        wrapped = _cjk_wrap(body[start:start + 6000], font, w - 2 * margin, d)
        y = margin
        for ln in wrapped:
            if y > h - fsize:
                break
            d.text((margin, y), ln, fill=fg, font=font)
            y += int(fsize * 1.45)
        return im
    # prose: one or two columns, headings, several sizes
    family = "serif" if rng.random() < 0.5 else "sans"
    fsize = int(rng.integers(10, 28))
    font = _font(fonts[family][int(rng.integers(0, len(fonts[family])))], fsize)
    head = _font(fonts["sans"][int(rng.integers(0, len(fonts["sans"])))], int(fsize * rng.uniform(1.4, 2.2)))
    words = " ".join(lines).split()
    pos = int(rng.integers(0, max(1, len(words) - 400)))
    cols = 2 if (w > 1000 and rng.random() < 0.4) else 1
    col_w = (w - 2 * margin - (cols - 1) * 30) // cols
    y0 = margin
    title = " ".join(words[pos:pos + int(rng.integers(2, 7))])
    d.text((margin, y0), title, fill=_colour(rng, dark=bg[0] > 128), font=head)
    y0 += int(head.size * 1.6)
    for c in range(cols):
        x, y = margin + c * (col_w + 30), y0
        while y < h - fsize and pos < len(words):
            para = words[pos:pos + int(rng.integers(30, 120))]
            pos += len(para)
            for ln in _wrap(para, font, col_w, d):
                if y > h - fsize:
                    break
                d.text((x, y), ln, fill=fg, font=font)
                y += int(fsize * 1.35)
            y += int(fsize * 0.8)
    return im


def _ui_page(rng, im, d, fonts, lines, aa):
    """A desktop-application-like screen: title bar, menu, toolbar, sidebar, a table with
    alternating rows, buttons, check boxes, a text field and a status bar."""
    w, h = im.size
    words = " ".join(lines).split() or ["File", "Edit", "View"]
    wi = [0]

    def word(n=1):
        out = " ".join(words[(wi[0] + i) % len(words)] for i in range(n))
        wi[0] += n
        return out[:40]
    sans = fonts["sans"][int(rng.integers(0, len(fonts["sans"])))]
    fs = int(rng.integers(11, 20))
    font = _font(sans, fs)
    bold = _font(fonts["sans"][0], fs + 2)
    light = rng.random() < 0.6
    base = _colour(rng, dark=not light)
    text = (20, 20, 20) if light else (230, 230, 230)
    accent = _colour(rng)
    panel = tuple(max(0, min(255, c + (-18 if light else 18))) for c in base)
    d.rectangle([0, 0, w, h], fill=base)
    tb = fs * 2 + 6
    d.rectangle([0, 0, w, tb], fill=accent)
    d.text((12, (tb - fs) // 2), word(3), fill=(255, 255, 255), font=bold)
    for i in range(3):  # window buttons
        cx = w - 20 - i * (tb - 4)
        d.ellipse([cx - fs // 2, tb // 2 - fs // 2, cx + fs // 2, tb // 2 + fs // 2],
                  fill=_colour(rng), outline=(0, 0, 0) if rng.random() < 0.5 else None)
    y = tb + 4
    x = 10
    for _ in range(int(rng.integers(4, 8))):  # menu bar
        m = word(1)
        d.text((x, y), m, fill=text, font=font)
        x += int(d.textlength(m, font=font)) + 18
    y += fs + 10
    d.line([0, y, w, y], fill=panel, width=1)
    side = int(rng.integers(w // 8, w // 4))
    d.rectangle([0, y + 1, side, h - fs - 10], fill=panel)
    sy = y + 10
    while sy < h - 3 * fs:
        d.rectangle([10, sy + 2, 10 + fs - 2, sy + fs], fill=_colour(rng))  # an icon
        d.text((16 + fs, sy), word(2), fill=text, font=font)
        sy += int(fs * 1.9)
    # table
    tx, ty = side + 16, y + 16
    cols = int(rng.integers(3, 6))
    cw = (w - tx - 16) // cols
    rh = int(fs * rng.uniform(1.6, 2.2))
    d.rectangle([tx, ty, w - 16, ty + rh], fill=accent)
    for c in range(cols):
        d.text((tx + c * cw + 6, ty + (rh - fs) // 2), word(1), fill=(255, 255, 255), font=bold)
    ty += rh
    alt = tuple(max(0, min(255, c + (-10 if light else 10))) for c in base)
    table_end = int(h * rng.uniform(0.45, 0.7))
    r = 0
    while ty < table_end:
        d.rectangle([tx, ty, w - 16, ty + rh], fill=alt if r % 2 else base)
        for c in range(cols):
            cell = word(1) if c else f"{int(rng.integers(0, 100000))}"
            d.text((tx + c * cw + 6, ty + (rh - fs) // 2), cell, fill=text, font=font)
        if rng.random() < 0.5:
            d.line([tx, ty + rh, w - 16, ty + rh], fill=panel)
        ty += rh
        r += 1
    # form: check boxes, a text field, buttons
    fy = ty + 20
    for i in range(int(rng.integers(2, 5))):
        if fy > h - 4 * fs:
            break
        d.rectangle([tx, fy, tx + fs, fy + fs], outline=text, width=1)
        if rng.random() < 0.5:
            d.line([tx + 2, fy + fs // 2, tx + fs // 2, fy + fs - 2], fill=accent, width=2)
            d.line([tx + fs // 2, fy + fs - 2, tx + fs - 2, fy + 2], fill=accent, width=2)
        d.text((tx + fs + 8, fy), word(4), fill=text, font=font)
        fy += int(fs * 2)
    if fy < h - 5 * fs:
        d.rectangle([tx, fy, tx + w // 3, fy + int(fs * 1.8)], fill=(255, 255, 255) if light else (30, 30, 30),
                    outline=accent, width=1)
        d.text((tx + 6, fy + fs // 3), word(3), fill=text, font=font)
        bx = tx + w // 3 + 20
        for _ in range(2):
            label = word(1)
            bw = int(d.textlength(label, font=font)) + 28
            d.rounded_rectangle([bx, fy, bx + bw, fy + int(fs * 1.8)], radius=int(rng.integers(0, 8)),
                                fill=accent if rng.random() < 0.5 else panel, outline=text)
            d.text((bx + 14, fy + fs // 3), label, fill=text, font=font)
            bx += bw + 12
    d.rectangle([0, h - fs - 10, w, h], fill=panel)
    d.text((10, h - fs - 6), word(6), fill=text, font=font)
