"""Text kept inside an image file: where each format has room for numdream's settings record.

    options = settings_save_options("PNG", text)   # extra keyword arguments for PIL's save()
    text = read_settings_text("dream.png")         # the text back, or None

The text is ASCII (the record is JSON with non-ASCII escaped), because EXIF's ImageDescription,
the place WebP and TIFF have, holds ASCII only. Where it goes:

| format | place |
| --- | --- |
| PNG | an iTXt chunk with the keyword ``numdream`` |
| JPEG, GIF | the file's comment (a COM segment, a comment extension) |
| WebP, TIFF | EXIF ImageDescription (tag 270) |
| BMP | nowhere: the format has no place for text |
"""
from PIL import Image, PngImagePlugin

from .errors import ImageError
from .fileio import open_regular_file

KEYWORD = "numdream"
IMAGE_DESCRIPTION = 0x010E  # the EXIF / TIFF tag
COMMENT_LIMIT = 65_533      # bytes of a JPEG COM segment (a 16-bit length that counts itself)
WITHOUT_TEXT = ("BMP",)


def settings_save_options(fmt, text):
    """Keyword arguments for ``PIL.Image.save(..., format=fmt)`` that store ASCII ``text``."""
    if not text.isascii():
        raise ValueError("the settings text must be ASCII (escape the rest, as json.dumps does)")
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt(KEYWORD, text)
        return {"pnginfo": info}
    if fmt in ("JPEG", "GIF"):
        if len(text) > COMMENT_LIMIT:
            raise ImageError(f"the settings record ({len(text):,} bytes) does not fit a {fmt} comment "
                             f"({COMMENT_LIMIT:,} bytes); write a PNG")
        return {"comment": text.encode("ascii")}
    if fmt in ("WEBP", "TIFF"):
        exif = Image.Exif()
        exif[IMAGE_DESCRIPTION] = text
        return {"exif": exif.tobytes()}
    return {}


def has_room_for_settings(fmt):
    """Whether a file of Pillow format ``fmt`` can hold the settings text."""
    return fmt not in WITHOUT_TEXT


def read_settings_text(path):
    """(Pillow format, the text save_image stored in the image file at ``path``, or None)."""
    with open_regular_file(path, "image", ImageError) as f:
        try:
            with Image.open(f) as im:
                return im.format, _text_of(im)
        except Image.DecompressionBombError as err:  # Pillow refuses to open it at all
            raise ImageError(f"cannot read image {str(path)!r}: {err}") from None
        except (OSError, SyntaxError, ValueError) as err:  # not an image, or a damaged one
            raise ImageError(f"cannot read image {str(path)!r}: not an image Pillow can read "
                             f"({type(err).__name__})") from None


def _text_of(im):
    if im.format == "PNG":
        text = getattr(im, "text", {}).get(KEYWORD)  # .text reads every text chunk, to the image end
    elif im.format in ("JPEG", "GIF"):
        text = im.info.get("comment")
    elif im.format in ("WEBP", "TIFF"):
        text = im.getexif().get(IMAGE_DESCRIPTION)
    else:
        text = None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return text if isinstance(text, str) else None
