"""Shared basics of every feature package (ARCHITECTURE.md)."""

from webapp.services.core import pseudo_locales

pseudo_locales.register()  # Babel knows en_XA and ar_XB before anything parses a locale
