"""The demo organization's brand: a logo drawn here with Pillow (the same bytes on every run)
and a colour white text passes WCAG AA on, stored through the back office's service."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from sqlmodel import Session

from webapp.services.admin import brand

COLOUR = "#0b5d4b"  # Northwind's green: white on it is 7.8:1
INITIALS = "NC"
SIDE = 192
FONT = Path(__file__).resolve().parents[1] / "static" / "fonts" / "DejaVuSans-Bold.ttf"


def draw_logo(colour: str = COLOUR, initials: str = INITIALS) -> bytes:
    """A rounded square in `colour` with white initials, as PNG bytes."""
    picture = Image.new("RGBA", (SIDE, SIDE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(picture)
    draw.rounded_rectangle((0, 0, SIDE - 1, SIDE - 1), radius=SIDE // 5, fill=colour)
    font = ImageFont.truetype(str(FONT), size=SIDE // 2 - 8)
    draw.text((SIDE / 2, SIDE / 2), initials, fill="white", font=font, anchor="mm")
    out = BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def seed_brand(session: Session, *, now: datetime) -> None:
    """The demo's logo (with its icons) and colour, without an audit entry: nobody set them."""
    brand.apply_logo(session, prepared=brand.prepare_logo(draw_logo()), now=now)
    brand.apply_colour(session, colour=brand.parse_colour(COLOUR), now=now)
