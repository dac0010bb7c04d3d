"""The organization's brand as pages, mail and documents read it: its colour's contrast and
stylesheet, and its stored images (the logo and the icons made from it).

The colour and `brand_version` sit on the organization's row, which every request already
reads; the images sit in `brand_asset`, read only by the asset routes, the mail sender and
PDF rendering. Setting the brand is the back office's (services/admin/brand.py).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from sqlmodel import Session

from webapp.models import BrandAsset

LOGO, FAVICON, TOUCH_ICON = "logo", "favicon", "touch_icon"
KINDS = (LOGO, FAVICON, TOUCH_ICON)
WHITE = "#ffffff"
AA_NORMAL_TEXT = 4.5  # WCAG 2 AA, body text: white on the colour must reach this
_HEX_COLOUR = re.compile(r"#[0-9a-f]{6}")


# --- The colour ------------------------------------------------------------------------------

def is_hex_colour(value: str) -> bool:
    """"#1f4e79" (lower case, six digits): the one form a stored colour takes."""
    return bool(_HEX_COLOUR.fullmatch(value))


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2's relative luminance of "#rrggbb", from 0 (black) to 1 (white)."""
    r, g, b = (_channel(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2's contrast ratio of two colours, from 1 to 21 (the order does not matter)."""
    light, dark = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def shown_ratio(ratio: float) -> str:
    """A ratio as "4.48:1", to two decimals; a failing 4.497 reads "4.49:1", never a
    passing-looking "4.50:1"."""
    shown = round(ratio, 2)
    if ratio < AA_NORMAL_TEXT <= shown:
        shown = AA_NORMAL_TEXT - 0.01
    return f"{shown:.2f}:1"


def passes_with_white(colour: str) -> bool:
    """White text on `colour` passes WCAG AA for normal text (4.5:1)."""
    return contrast_ratio(WHITE, colour) >= AA_NORMAL_TEXT


def nearest_passing_shade(colour: str) -> str:
    """`colour` itself if white text on it passes AA, else the lightest darker shade of it
    (every channel scaled down alike, so the hue stays) that passes."""
    rgb = _rgb(colour)
    for step in range(256):
        shade = _hex(tuple(round(c * (255 - step) / 255) for c in rgb))
        if passes_with_white(shade):
            return shade
    return "#000000"  # not reached: black passes (21:1)


def stylesheet(colour: str | None) -> str:
    """/brand.css: the colour as Pico's primary colour variables (after pico.css, the same
    specificity as its light theme's rule, so this one wins); empty for the built-in colour."""
    if colour is None:
        return "/* The built-in colour: nothing to override. */\n"
    r, g, b = _rgb(colour)
    hover = _hex((round(r * 0.85), round(g * 0.85), round(b * 0.85)))
    return (":root:not([data-theme=dark]), :root[data-theme=light] {\n"
            f"  --pico-primary: {colour};\n"
            f"  --pico-primary-background: {colour};\n"
            f"  --pico-primary-border: {colour};\n"
            f"  --pico-primary-underline: rgba({r}, {g}, {b}, 0.5);\n"
            f"  --pico-primary-hover: {hover};\n"
            f"  --pico-primary-hover-background: {hover};\n"
            f"  --pico-primary-hover-border: {hover};\n"
            f"  --pico-primary-hover-underline: {hover};\n"
            f"  --pico-primary-focus: rgba({r}, {g}, {b}, 0.5);\n"
            "  --pico-primary-inverse: #fff;\n"
            f"  --portal-brand: {colour};\n"
            "}\n")


# --- The images ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Image:
    """A stored image: its bytes as served."""

    kind: str
    content_type: str
    data: bytes
    width: int
    height: int

    def data_uri(self) -> str:
        """The image inline ("data:image/png;base64,..."), as a PDF embeds it."""
        return f"data:{self.content_type};base64,{base64.b64encode(self.data).decode('ascii')}"

    @property
    def extension(self) -> str:
        return "jpg" if self.content_type == "image/jpeg" else "png"


def image(session: Session, kind: str) -> Image | None:
    """The stored image of that kind (logo, favicon, touch_icon), or None."""
    row = session.get(BrandAsset, kind)
    if row is None:
        return None
    return Image(row.kind, row.content_type, bytes(row.data), row.width, row.height)


def logo(session: Session) -> Image | None:
    """The organization's logo, or None while it has none."""
    return image(session, LOGO)


def logo_data_uri(session: Session) -> str | None:
    """The logo as a data: URI for a document's masthead (read once per document), or None."""
    found = logo(session)
    return found.data_uri() if found else None
