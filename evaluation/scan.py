"""A printed PDF made into a degraded scan: 200 DPI greyscale, each page turned by up to 2
degrees, speckle noise, saved as an image-only PDF, as a fax or a cheap office scanner returns it.

Seeded by the document's name, so the same document always gets the same scan.
"""

import hashlib
import io
import random
import subprocess
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

MODES = ("clean", "degraded")
DPI = 200
MAX_SKEW_DEGREES = 2.0
SPECKLE_SHARE = 0.0015  # of the page's pixels: dark specks on paper, white drop-outs in ink
VERSION = "scan-v1"  # part of the OCR cache key: change it when the degradation changes
FIXED_DATE = time.strptime("2025-01-01", "%Y-%m-%d")  # Pillow writes a struct_time as a PDF date


def degrade(pdf: bytes, seed: str) -> bytes:
    rng = random.Random(int(hashlib.sha256(f"{VERSION}:{seed}".encode()).hexdigest(), 16))  # noqa: S311 - noise, not secrets
    with tempfile.TemporaryDirectory(prefix="exora-scan-") as scratch:
        source = Path(scratch) / "printed.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", str(DPI), "-gray", "-png", str(source), str(Path(scratch) / "page")],
            check=True,
            capture_output=True,
            timeout=300,
        )
        pages = [_scanned(Image.open(p).convert("L"), rng) for p in sorted(Path(scratch).glob("page*.png"))]
    out = io.BytesIO()
    pages[0].save(  # dated by the version, not the clock: the same scan is the same bytes
        out, "PDF", resolution=DPI, save_all=True, append_images=pages[1:], creationDate=FIXED_DATE, modDate=FIXED_DATE
    )
    return out.getvalue()


def _scanned(page: Image.Image, rng: random.Random) -> Image.Image:
    angle = rng.uniform(-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES)
    turned = page.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    draw = ImageDraw.Draw(turned)
    width, height = turned.size
    for _ in range(int(width * height * SPECKLE_SHARE)):
        x, y = rng.randrange(width), rng.randrange(height)
        dark = rng.random() < 0.6
        size = rng.choice((1, 1, 1, 2))
        draw.rectangle((x, y, x + size - 1, y + size - 1), fill=rng.randrange(0, 90) if dark else 255)
    return turned
