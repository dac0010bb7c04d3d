"""The brand's public files: the logo, the icons and /brand.css (the login page needs them
before anyone signs in). Pages link them with `?v=<brand_version>`, which changes with every
change of the brand, so a versioned link is cached for a year; without the current version
the answer must be checked again (`no-cache`)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from webapp.context import current_org
from webapp.db import db
from webapp.services.core import brand

bp = Blueprint("brand", __name__)

YEAR = 365 * 24 * 3600
# Without a logo every page still shows one image: the built-in icon stands in for it.
BUILT_IN = {brand.LOGO: "brand/touch-icon-180.png", brand.FAVICON: "brand/favicon-32.png",
            brand.TOUCH_ICON: "brand/touch-icon-180.png"}


def _cached(response: Response) -> Response:
    org = current_org()
    current = str(org.brand_version) if org else "0"
    if request.args.get("v") == current:
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    return response


def _image(kind: str) -> Response:
    found = brand.image(db.session, kind)
    if found is None:
        return _cached(current_app.send_static_file(BUILT_IN[kind]))
    response = Response(found.data, mimetype=found.content_type)
    response.headers["Content-Disposition"] = f"inline; filename={kind}.{found.extension}"
    return _cached(response)


@bp.get("/brand/logo")
def logo():
    """The organization's logo, or the built-in icon while it has none."""
    return _image(brand.LOGO)


@bp.get("/brand/favicon.png")
def favicon():
    """The 32 px icon made from the logo, or the built-in one."""
    return _image(brand.FAVICON)


@bp.get("/brand/touch-icon.png")
def touch_icon():
    """The 180 px icon a phone's home screen shows, or the built-in one."""
    return _image(brand.TOUCH_ICON)


@bp.get("/brand.css")
def stylesheet():
    """The brand colour as the stylesheet's colour variables (empty for the built-in one)."""
    org = current_org()
    css = brand.stylesheet(org.brand_colour if org else None)
    return _cached(Response(css, mimetype="text/css"))
