"""Back office: the brand (Admin → Brand): the logo, the icons made from it, and the colour.

An upload is judged by its bytes, never by its name or declared type: Pillow must read it as
a PNG or a JPEG, the file must end where the image ends (a "polyglot", a valid PNG with HTML
or script after it, is refused), it must fit in MAX_BYTES and MAX_SIDE, and its size is read
from the header before anything is decoded (a small file can declare a huge image). What is
stored is a new image drawn from the decoded pixels, with no metadata, so nothing active in the
upload survives; the favicon and touch icon are made from it. Every change bumps the
organization's `brand_version` (the links to /brand.css and the icons carry it) and is audited.
"""

from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlmodel import Session

from webapp.models import AuditEntry, BrandAsset, Organization
from webapp.services.admin import Actor
from webapp.services.core import audit
from webapp.services.core import brand as core_brand
from webapp.services.core.errors import InvalidInput, NotFound
from webapp.services.core.i18n import _
from webapp.services.core.preferences.permissions import ORGANIZATION_ID

MAX_BYTES = 1024 * 1024
MAX_SIDE = 2000
LOGO_BOX = 800  # the stored logo fits in this square: pages show it small, PDFs embed it
FAVICON_SIDE, TOUCH_ICON_SIDE = 32, 180
LOGO_FIELD, COLOUR_FIELD = "logo", "colour"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class PreparedImage:
    content_type: str
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class PreparedLogo:
    """An accepted upload, re-encoded, with the icons made from it."""

    logo: PreparedImage
    favicon: PreparedImage
    touch_icon: PreparedImage

    def images(self) -> dict[str, PreparedImage]:
        return {core_brand.LOGO: self.logo, core_brand.FAVICON: self.favicon,
                core_brand.TOUCH_ICON: self.touch_icon}


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(message, field=LOGO_FIELD)


def _kind_of_refused(data: bytes) -> str:
    """A message for a file Pillow would not take as PNG or JPEG, naming what it looks like."""
    head = data[:512].lstrip().lower()
    if data.startswith((b"GIF87a", b"GIF89a")):
        return _("GIF images are not accepted. Upload a PNG or JPEG image.")
    if b"<svg" in head or (head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()):
        return _("SVG images are not accepted. Upload a PNG or JPEG image.")
    return _("This file is not a PNG or JPEG image. Upload a PNG or JPEG image.")


def _png_end(data: bytes) -> int:
    """Where a PNG's IEND chunk ends (walking its chunks), or -1 if it has none."""
    at = len(_PNG_SIGNATURE)
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        at += 12 + length  # length, type, data, CRC
        if kind == b"IEND":
            return at
    return -1


def _jpeg_end(data: bytes) -> int:
    """Where a JPEG's EOI marker ends (walking its segments and entropy-coded data), or -1."""
    at = 2  # after SOI
    while at + 2 <= len(data):
        if data[at] != 0xFF:
            return -1
        marker = data[at + 1]
        if marker == 0xD9:  # EOI
            return at + 2
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length
            at += 2
            continue
        if at + 4 > len(data):
            return -1
        at += 2 + struct.unpack(">H", data[at + 2:at + 4])[0]
        if marker == 0xDA:  # SOS: entropy-coded data up to the next marker (FF, then
            at = _next_marker(data, at)  # neither a stuffed 00 nor a restart marker)
    return -1


def _next_marker(data: bytes, at: int) -> int:
    while (at := data.find(b"\xff", at)) >= 0 and at + 1 < len(data):
        if data[at + 1] != 0x00 and not 0xD0 <= data[at + 1] <= 0xD7:
            return at
        at += 2
    return len(data)


def _check_ends_with_the_image(data: bytes, image_format: str) -> None:
    """Refuse bytes after the image's end (zero padding aside), where a polyglot hides its
    HTML, and a file that never reaches its end marker."""
    end = _png_end(data) if image_format == "PNG" else _jpeg_end(data)
    if end < 0:
        raise _refuse(_("The image is incomplete or damaged. Upload a PNG or JPEG image."))
    if data[end:].strip(b"\x00"):
        raise _refuse(_("The file has other data after the image. Upload a PNG or JPEG image "
                        "saved by an image editor."))


def _open(data: bytes) -> Image.Image:
    """The upload opened as a PNG or JPEG (header only, nothing decoded yet)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(BytesIO(data), formats=("PNG", "JPEG"))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(_("The image is too large: at most %(side)d × %(side)d pixels.",
                        side=MAX_SIDE)) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise _refuse(_kind_of_refused(data)) from None


def _clean_copy(opened: Image.Image) -> Image.Image:
    """The decoded pixels in a new image: no metadata, no chunks, no comments carried over."""
    try:
        opened.load()
        pixels = ImageOps.exif_transpose(opened) if opened.format == "JPEG" else opened
        mode = "RGB" if opened.format == "JPEG" else ("RGBA" if pixels.mode in (
            "RGBA", "LA", "P", "PA") or "transparency" in pixels.info else "RGB")
        converted = pixels.convert(mode)
    except (OSError, ValueError, SyntaxError, struct.error):
        raise _refuse(_("The image could not be read; it may be damaged. Upload a PNG or JPEG "
                        "image.")) from None
    return Image.frombytes(mode, converted.size, converted.tobytes())


def _encode(picture: Image.Image, image_format: str) -> PreparedImage:
    out = BytesIO()
    if image_format == "JPEG":
        picture.save(out, format="JPEG", quality=90, optimize=True)
    else:
        picture.save(out, format="PNG", optimize=True)
    return PreparedImage(f"image/{image_format.lower()}", out.getvalue(), *picture.size)


def _icon(picture: Image.Image, side: int, background: tuple[int, int, int, int]) -> PreparedImage:
    """The logo fitted into a `side`-pixel square, centred on `background`."""
    fitted = ImageOps.contain(picture.convert("RGBA"), (side, side), Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", (side, side), background)
    canvas.alpha_composite(fitted, ((side - fitted.width) // 2, (side - fitted.height) // 2))
    return _encode(canvas, "PNG")


def prepare_logo(data: bytes) -> PreparedLogo:
    """Check an upload and re-encode it, with its favicon and touch icon; InvalidInput
    (field "logo") with the reason otherwise. Needs no database."""
    if not data:
        raise _refuse(_("Choose a file. Upload a PNG or JPEG image."))
    if len(data) > MAX_BYTES:
        raise _refuse(_("The file is too big: the logo may be at most 1 MB."))
    opened = _open(data)
    width, height = opened.size
    if width > MAX_SIDE or height > MAX_SIDE:
        raise _refuse(_("The image is %(width)d × %(height)d pixels: at most %(side)d pixels "
                        "on either side.", width=width, height=height, side=MAX_SIDE))
    _check_ends_with_the_image(data, opened.format)
    picture = _clean_copy(opened)
    stored = ImageOps.contain(picture, (LOGO_BOX, LOGO_BOX), Image.Resampling.LANCZOS) \
        if max(picture.size) > LOGO_BOX else picture
    # Apple draws a transparent touch icon on black: it gets a white square.
    return PreparedLogo(_encode(stored, opened.format),
                        _icon(stored, FAVICON_SIDE, (255, 255, 255, 0)),
                        _icon(stored, TOUCH_ICON_SIDE, (255, 255, 255, 255)))


# --- Saving ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class BrandChange:
    """One line of the brand's history: "#1f4e79 → #0b5394"."""

    at: datetime
    actor: str
    what: str
    before: str
    after: str


@dataclass(frozen=True)
class BrandView:
    """What Admin → Brand shows."""

    colour: str | None
    version: int
    logo: core_brand.Image | None
    history: tuple[BrandChange, ...]

    @property
    def has_logo(self) -> bool:
        return self.logo is not None


def _organization(session: Session) -> Organization:
    org = session.get(Organization, ORGANIZATION_ID)
    if org is None:
        raise NotFound(_("The organization has not been set up."))
    return org


def _describe(found: core_brand.Image | PreparedImage | None) -> str:
    if found is None:
        return "none"
    kind = "JPEG" if found.content_type == "image/jpeg" else "PNG"
    return f"{kind}, {found.width} × {found.height} px"


def apply_logo(session: Session, *, prepared: PreparedLogo | None, now: datetime) -> None:
    """Store the logo and its icons (None: remove them) and bump the brand's version; no
    checks and no audit (`upload_logo`, `remove_logo` and the demo seed call it)."""
    org = _organization(session)
    for kind in core_brand.KINDS:
        row = session.get(BrandAsset, kind)
        if row is not None:
            session.delete(row)
    session.flush()
    if prepared is not None:
        for kind, picture in prepared.images().items():
            session.add(BrandAsset(kind=kind, content_type=picture.content_type,
                                   data=picture.data, width=picture.width,
                                   height=picture.height, updated_at=now))
    org.brand_version += 1
    session.add(org)
    session.flush()


def upload_logo(session: Session, *, actor: Actor, data: bytes, now: datetime) -> BrandView:
    """Check, re-encode and store a new logo with its icons (InvalidInput: nothing stored)."""
    prepared = prepare_logo(data)
    before = _describe(core_brand.logo(session))
    apply_logo(session, prepared=prepared, now=now)
    _record(session, actor, "brand.logo", {"logo": before},
            {"logo": _describe(prepared.logo)}, now)
    return brand_view(session)


def remove_logo(session: Session, *, actor: Actor, now: datetime) -> BrandView:
    """Remove the logo and its icons: pages and documents show the built-in icon again."""
    before = _describe(core_brand.logo(session))
    if before != "none":
        apply_logo(session, prepared=None, now=now)
        _record(session, actor, "brand.logo", {"logo": before}, {"logo": "none"}, now)
    return brand_view(session)


def parse_colour(text: str | None) -> str | None:
    """The typed colour as stored ("#1f4e79"), None when empty (the built-in colour);
    InvalidInput when it is not #rrggbb or white text on it fails WCAG AA, naming the
    nearest shade that passes."""
    typed = (text or "").strip().lower()
    if not typed:
        return None
    colour = typed if typed.startswith("#") else f"#{typed}"
    if not core_brand.is_hex_colour(colour):
        raise InvalidInput(_("Enter a colour as #rrggbb, such as #1f4e79."), field=COLOUR_FIELD)
    if not core_brand.passes_with_white(colour):
        ratio = core_brand.shown_ratio(core_brand.contrast_ratio(core_brand.WHITE, colour))
        shade = core_brand.nearest_passing_shade(colour)
        raise InvalidInput(
            _("White text on %(colour)s has a contrast of %(ratio)s; it needs at least 4.5:1 "
              "(WCAG AA) to be readable on buttons. The nearest shade that passes is "
              "%(shade)s.", colour=colour, ratio=ratio, shade=shade),
            field=COLOUR_FIELD)
    return colour


def apply_colour(session: Session, *, colour: str | None, now: datetime) -> bool:
    """Store a checked colour and bump the brand's version; False when it is unchanged."""
    org = _organization(session)
    if org.brand_colour == colour:
        return False
    org.brand_colour = colour
    org.brand_version += 1
    session.add(org)
    session.flush()
    return True


def set_colour(session: Session, *, actor: Actor, text: str | None, now: datetime) -> BrandView:
    """Set the brand colour from what the admin typed (empty: the built-in colour)."""
    colour = parse_colour(text)
    before = _organization(session).brand_colour
    if apply_colour(session, colour=colour, now=now):
        _record(session, actor, "brand.colour", {"brand_colour": before},
                {"brand_colour": colour}, now)
    return brand_view(session)


def _record(session: Session, actor: Actor, action: str, before: dict, after: dict,
            now: datetime) -> None:
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label, action=action,
                 subject_type="brand", subject_id=ORGANIZATION_ID, before=before, after=after,
                 now=now)


def brand_view(session: Session, *, history_limit: int = 10) -> BrandView:
    """The colour, the brand's version, the logo and the latest brand changes."""
    org = _organization(session)
    history = tuple(_change(entry) for entry in
                    audit.recent(session, subject_type="brand", limit=history_limit))
    return BrandView(org.brand_colour, org.brand_version, core_brand.logo(session), history)


def _change(entry: AuditEntry) -> BrandChange:
    field = next(iter(entry.after), "")
    # Lazy texts: the page writes them in the reader's language.
    what = _("Logo") if field == "logo" else _("Colour")
    return BrandChange(entry.created_at, entry.actor_label, what,
                       entry.before.get(field) or _("built-in"),
                       entry.after.get(field) or _("built-in"))
