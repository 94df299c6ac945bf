#!/usr/bin/python3
"""A row of labelled tiles for the README's inpainting section.

    inpaint_panel.py OUT.png ORIGINAL.png KEPT_MASK.png LABEL=IMAGE.png ...

ORIGINAL is the image the fits saw (same size as the renders), KEPT_MASK
the mask `siren fit --save-mask` wrote (white = kept); the first tile shows
the kept pixels on black, then one tile per LABEL=IMAGE (renders of the
models), then the original. Needs Debian's python3-pil and python3-numpy.
"""
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def gray(path):
    return np.asarray(Image.open(path).convert("L"), dtype=np.uint8)


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    out, original, mask = argv[0], gray(argv[1]), gray(argv[2]) >= 128
    tiles = [("kept pixels (%.0f%%)" % (100 * mask.mean()), np.where(mask, original, 0))]
    for item in argv[3:]:
        label, _, path = item.rpartition("=")
        tiles.append((label, gray(path)))
    tiles.append(("original", original))
    h, w = original.shape
    for label, t in tiles:
        if t.shape != (h, w):
            sys.exit("%s: %dx%d, not %dx%d" % (label, t.shape[1], t.shape[0], w, h))
    gap, caption = 4, 18
    panel = Image.new("L", (len(tiles) * (w + gap) - gap, h + caption), 255)
    draw = ImageDraw.Draw(panel)
    font = ImageFont.load_default()
    for k, (label, t) in enumerate(tiles):
        x = k * (w + gap)
        panel.paste(Image.fromarray(t), (x, 0))
        draw.text((x + 4, h + 3), label, fill=0, font=font)
    panel.save(out)


if __name__ == "__main__":
    main(sys.argv[1:])
