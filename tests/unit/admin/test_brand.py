"""Admin → Brand as a service: the logo upload (judged by its bytes, re-encoded, icons made
from it), the colour (white text on it must pass WCAG AA), versions and the audit trail."""

from __future__ import annotations

from io import BytesIO

import pytest
from PIL import Image, PngImagePlugin
from sqlmodel import select

from webapp import demo
from webapp.models import AuditEntry, BrandAsset, Organization
from webapp.services.admin import Actor, brand
from webapp.services.core import brand as core_brand
from webapp.services.core.errors import InvalidInput

ADMIN = Actor(None, "admin@example.com")


def image_bytes(size=(300, 120), fmt="PNG", mode="RGB", **save) -> bytes:
    out = BytesIO()
    Image.new(mode, size, (31, 78, 121) if mode == "RGB" else 0).save(out, format=fmt, **save)
    return out.getvalue()


SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script></svg>')
POLYGLOT = image_bytes() + b"<html><script>alert(document.cookie)</script></html>"


@pytest.fixture
def org(session, now):
    org = demo.seed_organization(session, now=now)
    session.commit()
    return org


def _version(session) -> int:
    return session.get(Organization, 1).brand_version


def _stored(session) -> dict[str, BrandAsset]:
    return {row.kind: row for row in session.exec(select(BrandAsset)).all()}


def _decoded(data: bytes) -> Image.Image:
    return Image.open(BytesIO(data))


def test_a_png_logo_is_stored_re_encoded_with_its_icons(session, now, org):
    upload = image_bytes()
    before = _version(session)
    brand.upload_logo(session, actor=ADMIN, data=upload, now=now)
    stored = _stored(session)
    logo = stored["logo"]
    assert (logo.content_type, logo.width, logo.height) == ("image/png", 300, 120)
    assert logo.data != upload
    assert _decoded(logo.data).getpixel((10, 10))[:3] == (31, 78, 121)
    assert _decoded(stored["favicon"].data).size == (32, 32)
    assert _decoded(stored["touch_icon"].data).size == (180, 180)
    assert _version(session) == before + 1


def test_a_jpeg_logo_is_stored_as_a_new_jpeg_without_its_metadata(session, now, org):
    exif = Image.Exif()
    exif[0x010E] = "secret camera note"  # ImageDescription
    upload = image_bytes(fmt="JPEG", exif=exif.tobytes())
    brand.upload_logo(session, actor=ADMIN, data=upload, now=now)
    logo = _stored(session)["logo"]
    assert logo.content_type == "image/jpeg"
    assert logo.data != upload
    assert b"secret camera note" not in logo.data
    assert _decoded(logo.data).format == "JPEG"


def test_text_hidden_in_a_png_chunk_is_not_stored(session, now, org):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<script>alert(1)</script>")
    upload = image_bytes(pnginfo=info)
    brand.upload_logo(session, actor=ADMIN, data=upload, now=now)
    assert b"<script>" not in _stored(session)["logo"].data


def test_a_large_logo_is_stored_smaller_within_its_box(session, now, org):
    brand.upload_logo(session, actor=ADMIN, data=image_bytes((1600, 400)), now=now)
    logo = _stored(session)["logo"]
    assert (logo.width, logo.height) == (800, 200)


@pytest.mark.parametrize("upload, message", [
    (SVG, "SVG images are not accepted"),
    (image_bytes(fmt="GIF", mode="P"), "GIF images are not accepted"),
    (POLYGLOT, "other data after the image"),
    (image_bytes(fmt="JPEG") + b"<script>alert(1)</script>", "other data after the image"),
    (image_bytes() + b"\x00" * 10 + b"x" * (1024 * 1024), "at most 1 MB"),
    (image_bytes((10000, 10000), mode="1"), "at most 2000"),
    (image_bytes((2001, 10), mode="1"), "at most 2000 pixels"),
    (b"this is not an image at all" * 20, "not a PNG or JPEG image"),
    (image_bytes()[:-12], "incomplete or damaged"),
    (b"", "Choose a file"),
], ids=["svg", "gif", "png-polyglot", "jpeg-polyglot", "oversize", "10000px", "2001px",
        "garbage", "truncated", "empty"])
def test_a_refused_upload_says_why_and_stores_nothing(session, now, org, upload, message):
    before = _version(session)
    with pytest.raises(InvalidInput) as refused:
        brand.upload_logo(session, actor=ADMIN, data=upload, now=now)
    assert message in refused.value.message
    assert refused.value.field == "logo"
    assert _stored(session) == {}
    assert _version(session) == before
    assert session.exec(select(AuditEntry)).all() == []


def test_a_png_polyglot_is_refused_even_when_its_image_is_fine(session, now, org):
    assert _decoded(POLYGLOT).size == (300, 120)  # Pillow alone reads it as a good PNG
    with pytest.raises(InvalidInput):
        brand.prepare_logo(POLYGLOT)


def test_a_new_logo_is_audited_old_to_new(session, now, org):
    brand.upload_logo(session, actor=ADMIN, data=image_bytes(), now=now)
    entry = session.exec(select(AuditEntry)).one()
    assert (entry.action, entry.actor_label) == ("brand.logo", "admin@example.com")
    assert (entry.before, entry.after) == ({"logo": "none"}, {"logo": "PNG, 300 × 120 px"})


def test_removing_the_logo_removes_its_icons_and_bumps_the_version(session, now, org):
    brand.upload_logo(session, actor=ADMIN, data=image_bytes(), now=now)
    before = _version(session)
    view = brand.remove_logo(session, actor=ADMIN, now=now)
    assert _stored(session) == {}
    assert not view.has_logo
    assert _version(session) == before + 1
    assert [e.after for e in session.exec(select(AuditEntry).order_by(AuditEntry.id))][-1] == \
        {"logo": "none"}


def test_a_colour_white_text_fails_on_is_refused_with_the_nearest_passing_shade(
        session, now, org):
    before = _version(session)
    with pytest.raises(InvalidInput) as refused:
        brand.set_colour(session, actor=ADMIN, text="#777777", now=now)
    assert refused.value.field == "colour"
    assert "4.48:1" in refused.value.message
    assert "#767676" in refused.value.message
    assert session.get(Organization, 1).brand_colour is None
    assert _version(session) == before


def test_a_passing_colour_is_saved_audited_and_bumps_the_version(session, now, org):
    before = _version(session)
    view = brand.set_colour(session, actor=ADMIN, text=" #1F4E79 ", now=now)
    assert view.colour == "#1f4e79"
    assert _version(session) == before + 1
    entry = session.exec(select(AuditEntry)).one()
    assert (entry.before, entry.after) == ({"brand_colour": None}, {"brand_colour": "#1f4e79"})


def test_an_empty_colour_brings_back_the_built_in_one(session, now, org):
    brand.set_colour(session, actor=ADMIN, text="#1f4e79", now=now)
    assert brand.set_colour(session, actor=ADMIN, text="", now=now).colour is None


def test_saving_the_same_colour_again_changes_nothing(session, now, org):
    brand.set_colour(session, actor=ADMIN, text="#1f4e79", now=now)
    version = _version(session)
    brand.set_colour(session, actor=ADMIN, text="#1f4e79", now=now)
    assert _version(session) == version
    assert len(session.exec(select(AuditEntry)).all()) == 1


@pytest.mark.parametrize("typed", ["blue", "#12345", "#gggggg", "rgb(0,0,0)"])
def test_a_colour_not_written_as_six_hex_digits_is_refused(session, now, org, typed):
    with pytest.raises(InvalidInput, match="#rrggbb"):
        brand.set_colour(session, actor=ADMIN, text=typed, now=now)


def test_the_demo_organization_has_a_logo_and_a_colour_that_passes_aa(session, now):
    demo.seed_demo(session, now=now)
    org = session.get(Organization, 1)
    assert core_brand.passes_with_white(org.brand_colour)
    assert set(_stored(session)) == {"logo", "favicon", "touch_icon"}
    assert session.exec(select(AuditEntry).where(AuditEntry.subject_type == "brand")).all() == []
