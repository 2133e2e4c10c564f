"""A sample photo drawn on the spot, so the first command needs no file of one's own."""

from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 1600, 1200


def sample_photo() -> bytes:
    """A deterministic landscape (sky, sun, hills, lake) as a JPEG, 1600x1200."""
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    for y in range(HEIGHT // 2):
        t = y / (HEIGHT / 2)
        draw.line([(0, y), (WIDTH, y)], fill=(int(40 + 180 * t), int(90 + 120 * t), 200))
    draw.ellipse((1080, 160, 1300, 380), fill=(255, 214, 120))
    for index, (base, colour) in enumerate(((640, (52, 96, 70)), (700, (34, 70, 52)))):
        points = [(0, HEIGHT)]
        for x in range(0, WIDTH + 40, 40):
            wave = math.sin(x / (180 + 60 * index) + index * 2.0) * 70
            points.append((x, int(base - 120 + wave + 30 * math.cos(x / 97))))
        points.append((WIDTH, HEIGHT))
        draw.polygon(points, fill=colour)
    for y in range(800, HEIGHT):
        t = (y - 800) / (HEIGHT - 800)
        draw.line(
            [(0, y), (WIDTH, y)], fill=(int(30 + 40 * t), int(80 + 50 * t), int(140 + 40 * t))
        )
    for x in range(60, WIDTH, 140):
        draw.line([(x, 830 + (x % 90)), (x + 70, 830 + (x % 90))], fill=(200, 220, 240), width=3)
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()
