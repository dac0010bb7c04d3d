"""Security headers on every response."""

from __future__ import annotations

from flask import Flask

DIRECTIVES: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),
    "font-src": ("'self'",),
    "connect-src": ("'self'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
    "base-uri": ("'none'",),
    "object-src": ("'none'",),
}


def build_csp(extra: dict[str, tuple[str, ...]] | None = None) -> str:
    """The policy, with `extra` sources added to their directives (a new directive, such as
    frame-src for Stripe.js, is added after the others)."""
    directives = {name: list(sources) for name, sources in DIRECTIVES.items()}
    for name, sources in (extra or {}).items():
        directives.setdefault(name, []).extend(s for s in sources
                                               if s not in directives.get(name, []))
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


CSP = build_csp()


def register(app: Flask) -> None:
    from webapp.charging import card_page_csp

    @app.after_request
    def security_headers(response):
        extra = card_page_csp()
        response.headers.setdefault("Content-Security-Policy",
                                    build_csp(extra) if extra else CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        if "text/html" in response.content_type:
            response.headers.setdefault("Cache-Control", "no-store")
        return response
