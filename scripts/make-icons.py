#!/usr/bin/env python3
"""Draws Gatehouse's app and tray icons as RGBA PNGs into icons/.

Pure Python (no imaging library): each shape is an inside() test, sampled
4x4 per pixel for anti-aliasing. Run from the repository root:
    python3 scripts/make-icons.py
"""
import math
import os
import struct
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "icons")

TEAL = (15, 95, 102)
CREAM = (244, 241, 232)
AMBER = (242, 177, 52)
TRAY_STATES = {
    "ok": (46, 160, 67),        # all connected
    "attention": (230, 150, 20),  # needs authorization
    "error": (210, 50, 45),     # errors
    "connecting": (60, 125, 200),  # connecting (nothing wrong yet)
    "idle": (140, 140, 140),    # nothing configured
}


def rounded_rect(x0, y0, x1, y1, r):
    def inside(x, y):
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return False
        cx = min(max(x, x0 + r), x1 - r)
        cy = min(max(y, y0 + r), y1 - r)
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    return inside


def arch(cx, base, outer, inner, top):
    """A gate: an arch of half-width `outer` with an opening of `inner`,
    standing on `base`, its semicircle centred at height `top`."""
    def inside(x, y):
        if y > base:
            return False
        dx = x - cx
        if y >= top:
            return inner <= abs(dx) <= outer
        d = math.hypot(dx, y - top)
        return inner <= d <= outer
    return inside


def circle(cx, cy, r):
    return lambda x, y: (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def render(size, layers):
    """layers: list of (inside(x, y) on a 0..1 canvas, (r, g, b))."""
    ss = 4
    rows = []
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            acc = [0.0, 0.0, 0.0, 0.0]
            for sy in range(ss):
                for sx in range(ss):
                    x = (px + (sx + 0.5) / ss) / size
                    y = (py + (sy + 0.5) / ss) / size
                    color = None
                    for inside, rgb in layers:
                        if inside(x, y):
                            color = rgb
                    if color:
                        acc[0] += color[0]
                        acc[1] += color[1]
                        acc[2] += color[2]
                        acc[3] += 1
            n = ss * ss
            a = acc[3] / n
            if acc[3]:
                rgb = [int(c / acc[3]) for c in acc[:3]]
            else:
                rgb = [0, 0, 0]
            row += bytes(rgb + [int(round(a * 255))])
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def app_layers():
    return [
        (rounded_rect(0.03, 0.03, 0.97, 0.97, 0.21), TEAL),
        (arch(0.5, 0.80, 0.25, 0.14, 0.46), CREAM),
        (rounded_rect(0.20, 0.77, 0.80, 0.83, 0.015), CREAM),
        (rounded_rect(0.46, 0.58, 0.54, 0.70, 0.012), AMBER),
    ]


def tray_layers(dot):
    return [
        (arch(0.42, 0.90, 0.34, 0.19, 0.44), TEAL),
        (rounded_rect(0.04, 0.86, 0.80, 0.96, 0.02), TEAL),
        (circle(0.76, 0.26, 0.23), (255, 255, 255)),
        (circle(0.76, 0.26, 0.18), dot),
    ]


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


# The app icon at every size the freedesktop (hicolor) icon theme commonly uses; the Windows
# .ico and macOS .icns are assembled from these same drawings.
APP_SIZES = [16, 24, 32, 48, 64, 128, 256, 512]


def ico(pngs):
    """A Windows icon holding PNG images (Vista and later read them), largest last."""
    entries = sorted(pngs.items())
    header = struct.pack("<HHH", 0, 1, len(entries))
    offset = 6 + 16 * len(entries)
    directory, data = b"", b""
    for size, png in entries:
        side = 0 if size >= 256 else size  # 0 means 256
        directory += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset + len(data))
        data += png
    return header + directory + data


def icns(pngs):
    """A macOS icon family holding PNG images, by their OSType."""
    kinds = [("icp4", 16), ("icp5", 32), ("icp6", 64), ("ic07", 128), ("ic08", 256), ("ic09", 512),
             ("ic11", 32), ("ic12", 64), ("ic13", 256), ("ic14", 512)]
    body = b"".join(kind.encode() + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for kind, size in kinds)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main():
    os.makedirs(OUT, exist_ok=True)
    pngs = {size: render(size, app_layers()) for size in APP_SIZES}
    for size, png in pngs.items():
        write("icon.png" if size == 512 else f"{size}x{size}.png", png)
    write("128x128@2x.png", pngs[256])
    write("icon.ico", ico({size: pngs[size] for size in [16, 24, 32, 48, 64, 128, 256]}))
    write("icon.icns", icns(pngs))
    for state, color in TRAY_STATES.items():
        write(f"tray-{state}.png", render(64, tray_layers(color)))


if __name__ == "__main__":
    main()
