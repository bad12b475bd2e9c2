"""A contact sheet that shows at a glance what each layer draws.

    tiles, labels = layer_tiles(photo, ["mixed0", ..., "mixed5"])   # the same photo, one dream per layer
    tiles, labels = channel_tiles("mixed4", 8, size=(224, 224))     # a layer's first channels, visualised
    sheet = contact_sheet(tiles, labels)                            # a labelled grid, uint8 (H, W, 3)

Low layers draw strokes and textures, middle ones patterns and parts, high ones eyes and animals.
Every tile is dreamed with the same seed, so the layers are all that differs between them.
"""
import math
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from .dream import dream
from .errors import LayerError, NumdreamError
from .featvis import channel, visualize
from .images import load_image
from .model import load_model
from .options import max_pixels

DEFAULT_GALLERY_LAYERS = ("mixed0", "mixed1", "mixed2", "mixed3", "mixed4", "mixed5")
GAP = 4          # pixels of white between cells and around the sheet
LABEL_PAD = 3    # pixels of white around a label's text


def layer_tiles(image, layers=DEFAULT_GALLERY_LAYERS, model=None, seed=0, original=True, progress=True,
                **options):
    """The photo dreamed at each layer on its own (L2 objective).

    image: path, PIL image or uint8 (H, W, 3). layers: layer names. original: the photo itself
    comes first, labelled 'original'. options: dream() options (octaves, steps, ...).
    returns: (tiles, labels): uint8 (H, W, 3) arrays and their captions, in order.
    """
    pixels = load_image(image)
    model = model or load_model()
    layers = _check_layers(model, layers)
    tiles, labels = ([pixels], ["original"]) if original else ([], [])
    for name in tqdm(layers, desc="gallery", unit="layer", file=sys.stderr, disable=not progress):
        tiles.append(dream(pixels, model=model, layers=name, objective="l2", seed=seed, progress=False,
                           **options))
        labels.append(name)
    return tiles, labels


def channel_tiles(layer, count, size=(224, 224), model=None, seed=0, progress=True, **options):
    """Channels 0 .. count-1 of ``layer``, each visualised by numdream.visualize: the image that
    maximises the channel's mean, in a Fourier parametrisation and decorrelated colour, through
    random transformations, with Adam (see numdream.featvis). 'mixed4:pre_relu' reads the layer
    before its last ReLU, where no channel is dead.

    size: (W, H) of each tile. options: visualize() options (steps, param, decorrelate,
    transforms, lr). returns: (tiles, labels) as layer_tiles does.
    """
    model = model or load_model()
    (layer,) = _check_layers(model, [layer])
    channels = model.layer(layer).channels
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= channels:
        raise NumdreamError(f"cannot show {count!r} channels of {layer!r}: it has {channels}; "
                            f"valid counts are 1 .. {channels}")
    tiles, labels = [], []
    for c in tqdm(range(count), desc="gallery", unit="channel", file=sys.stderr, disable=not progress):
        tiles.append(visualize(channel(layer, c), size=tuple(size), model=model, seed=seed, progress=False,
                               **options)[0])
        labels.append(f"#{c} {layer}")
    return tiles, labels


def _check_layers(model, layers):
    """Layer names as a list, each checked (an unknown one fails before any dreaming)."""
    layers = [layers] if isinstance(layers, str) else list(layers)
    if not layers:
        raise LayerError("no layers chosen for the gallery; name at least one")
    for name in layers:
        model.layer(name)
    return layers


def label_height(font=None):
    """Height in pixels of the label band under each tile."""
    font = font or ImageFont.load_default()
    top, bottom = font.getbbox("Ag#0")[1::2]
    return bottom - top + 2 * LABEL_PAD


def check_sheet_size(count, tile_hw, columns=None):
    """Refuse, before any tile is made, a contact sheet of ``count`` tiles of tile_hw = (h, w)
    larger than twice PIL.Image.MAX_IMAGE_PIXELS, the size above which Pillow refuses to open an
    image at all: numdream would work for hours to make a file no one can read back."""
    (height, width), _, _ = sheet_layout(count, tile_hw, columns)
    if height * width > 2 * max_pixels():
        raise NumdreamError(f"a contact sheet of {count} tiles of {tile_hw[1]}x{tile_hw[0]} would be "
                            f"{width}x{height} pixels, more than the {2 * max_pixels():,} an image may have "
                            "(twice PIL.Image.MAX_IMAGE_PIXELS); use a smaller photo, --size or fewer tiles")


def sheet_layout(count, tile_hw, columns=None):
    """Geometry of a sheet of ``count`` cells, each a tile of tile_hw = (h, w) above its label.

    columns: cells per row (default: ceil(sqrt(count))).
    returns: ((H, W) of the sheet, [(y, x) of each tile's top-left corner], label band height).
    """
    columns = columns or math.ceil(math.sqrt(count))
    if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise NumdreamError(f"columns must be a whole number >= 1, got {columns!r}")
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    band = label_height()
    cell_h, cell_w = tile_hw[0] + band, tile_hw[1]
    size = (GAP + rows * (cell_h + GAP), GAP + columns * (cell_w + GAP))
    origins = [(GAP + (i // columns) * (cell_h + GAP), GAP + (i % columns) * (cell_w + GAP)) for i in range(count)]
    return size, origins, band


def contact_sheet(tiles, labels, columns=None):
    """Tiles in a grid on white, each with its label underneath (Pillow's default font).

    tiles: uint8 (h, w, 3) arrays; a smaller tile sits in the top-left of a cell of the largest size.
    labels: one string per tile. returns: uint8 (H, W, 3).
    """
    if not tiles or len(tiles) != len(labels):
        raise NumdreamError(f"a contact sheet needs one label per tile, got {len(tiles)} tiles "
                            f"and {len(labels)} labels")
    tile_hw = (max(t.shape[0] for t in tiles), max(t.shape[1] for t in tiles))
    (height, width), origins, band = sheet_layout(len(tiles), tile_hw, columns)
    sheet = np.full((height, width, 3), 255, dtype=np.uint8)
    for tile, (y, x) in zip(tiles, origins):
        sheet[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
    font = ImageFont.load_default()
    top = font.getbbox("Ag#0")[1]
    for label, (y, x) in zip(labels, origins):
        # drawn on its own strip, so a label longer than its tile is cut instead of spilling over
        strip = Image.new("RGB", (tile_hw[1], band), (255, 255, 255))
        ImageDraw.Draw(strip).text((LABEL_PAD, LABEL_PAD - top), label, fill=(0, 0, 0), font=font)
        sheet[y + tile_hw[0]:y + tile_hw[0] + band, x:x + tile_hw[1]] = np.asarray(strip)
    return sheet
