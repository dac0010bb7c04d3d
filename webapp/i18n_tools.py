"""Catalog tooling (issue 33): the pseudo-locales, and the extraction `make translations` runs.

    python -m webapp.i18n_tools pseudo [--template PATH] [--directory DIR] [--compile]

writes webapp/translations/{en_XA,ar_XB}/LC_MESSAGES/messages.po from messages.pot:

- en_XA: every text accented (a → á, e → ë, ...), about 40% longer ("~~~") and in "[...]", so
  a page shows at a glance which words are not translatable (plain English, outside brackets),
  which texts were built from pieces (several brackets) and which do not fit when longer.
- ar_XB: the same texts written right to left (each run of words between U+202E and U+202C),
  in a right-to-left locale: the layout mirrored.

Placeholders (`%(amount)s`, `%(num)d`, `%%`, `{on}`), HTML tags and entities are kept as they
are; plurals get every form of the locale. `make translations` runs it after `pybabel update`,
then compiles. `extract()` is `pybabel extract` in-process (the tests compare the catalogs with
the code); KEYWORDS are the Makefile's `-k` options. No Flask here.
"""

from __future__ import annotations

import argparse
import gettext
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from babel.messages import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import DEFAULT_KEYWORDS, parse_keywords, parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from webapp.services.core.i18n import TRANSLATIONS_DIR
from webapp.services.core.pseudo_locales import PSEUDO_LOCALES

REPO_ROOT = Path(__file__).resolve().parents[1]
BABEL_CFG = REPO_ROOT / "babel.cfg"
TEMPLATE_NAME = "messages.pot"
# The Makefile's `pybabel extract -k ...` beyond Babel's defaults (_, gettext, ngettext, N_...).
KEYWORDS = ("_l", "lazy_gettext", "N_", "lazy_ngettext:1,2")
RTL_PSEUDO = "ar_XB"

# What a pseudo-translation keeps as it is: printf placeholders (and "%%"), str.format fields
# (a Dated message's "{on}"), HTML tags and character entities.
_KEPT = re.compile(r"""
      %(?:\([^)]*\))?[#0 +-]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]
    | \{[^{}]*\}
    | </?[A-Za-z][^<>]*>
    | &(?:[A-Za-z][A-Za-z0-9]*|\#[0-9]+|\#[xX][0-9A-Fa-f]+);
""", re.VERBOSE)
_ACCENTED = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "áƀçðëƒĝĥîĵķļɱñöþǫŕšţûṽŵẋýžÅƁÇÐÉƑĜĤÎĴĶĻṀÑÖÞǪŔŠŢÛṼŴẊÝŽ")
_RLO, _PDF = "\u202e", "\u202c"  # right-to-left override ... pop directional formatting
_EDGES = re.compile(r"(\s*)(.*?)(\s*)", re.DOTALL)


def pseudo_text(text: str, *, rtl: bool = False) -> str:
    """`text` pseudo-translated: letters accented, ~40% longer, in "[...]"; placeholders,
    tags and entities kept. `rtl`: each run of words also written right to left.

    >>> pseudo_text("Pay %(amount)s now")
    '[Þáý %(amount)s ñöŵ ~]'
    """
    lead, core, trail = _EDGES.fullmatch(text).groups()
    if not core:
        return text
    pieces, visible, start = [], 0, 0
    for match in [*_KEPT.finditer(core), None]:
        end = match.start() if match else len(core)
        words = core[start:end]
        if words:
            visible += len(words)
            words = words.translate(_ACCENTED)
            pieces.append(f"{_RLO}{words}{_PDF}" if rtl and words.strip() else words)
        if match:
            pieces.append(match.group())
            start = match.end()
    # "[", " " and "]" count towards the ~40%; at least one "~" however short the text.
    padding = "~" * max(1, math.ceil(visible * 0.4) - 3)
    return f"{lead}[{''.join(pieces)} {padding}]{trail}"


def _one_index(catalog: Catalog) -> int:
    """Which of the catalog's plural forms is used for n == 1 (the msgid's singular)."""
    return gettext.c2py(catalog.plural_expr)(1)


def pseudo_catalog(template: Catalog, locale: str) -> Catalog:
    """A complete catalog for a pseudo-locale from the template (messages.pot)."""
    rtl = locale == RTL_PSEUDO
    catalog = Catalog(
        locale=locale, domain=template.domain, project=template.project,
        version=template.version, copyright_holder=template.copyright_holder,
        msgid_bugs_address=template.msgid_bugs_address,
        creation_date=template.creation_date, revision_date=template.creation_date,
        last_translator="webapp.i18n_tools", language_team=f"{locale} (pseudo-locale)",
        charset="utf-8", fuzzy=False,
        header_comment=(f"# Pseudo-locale {locale}, written by `python -m webapp.i18n_tools "
                        f"pseudo` from {TEMPLATE_NAME}\n# (`make translations`): do not edit."))
    one = _one_index(catalog)
    for message in template:
        if not message.id:
            continue  # the header
        if isinstance(message.id, (list, tuple)):
            singular, plural = message.id[0], message.id[1]
            # msgstr[0] stands beside the msgid (what `pybabel compile` checks its
            # placeholders against), so it is the singular too (Arabic's form 0 is "zero").
            string = tuple(pseudo_text(singular if form in (0, one) else plural, rtl=rtl)
                           for form in range(catalog.num_plurals))
        else:
            string = pseudo_text(message.id, rtl=rtl)
        catalog.add(message.id, string, context=message.context,
                    flags=[f for f in message.flags if f != "fuzzy"],
                    auto_comments=message.auto_comments)
    return catalog


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=locale)


def _write_whole(path: Path, write) -> None:
    """Write a file whole, then move it into place: a running app never reads half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("wb") as file:
        write(file)
    partial.replace(path)


def write_catalog(catalog: Catalog, path: Path, *, po: bool = True,
                  compile_mo: bool = False) -> None:
    """The catalog as a .po file at `path` and/or, with `compile_mo`, its .mo beside it."""
    if po:
        _write_whole(path, lambda file: write_po(file, catalog, width=100, no_location=True,
                                                 ignore_obsolete=True))
    if compile_mo:
        _write_whole(path.with_suffix(".mo"), lambda file: write_mo(file, catalog))


def write_pseudo_locales(template: Catalog, directory: Path = TRANSLATIONS_DIR, *,
                         po: bool = True, compile_mo: bool = False) -> list[Path]:
    """en_XA's and ar_XB's messages.po (and/or .mo) in `directory`/<locale>/LC_MESSAGES/;
    the .po paths. `po=False, compile_mo=True` is what a test serving the app needs: the
    compiled catalogs, the committed .po files left as they are."""
    written = []
    for locale in PSEUDO_LOCALES:
        path = directory / locale / "LC_MESSAGES" / "messages.po"
        write_catalog(pseudo_catalog(template, locale), path, po=po, compile_mo=compile_mo)
        written.append(path)
    return written


def keywords() -> dict:
    """Babel's default keywords plus KEYWORDS, as `pybabel extract -k ...` takes them."""
    return {**DEFAULT_KEYWORDS, **parse_keywords(list(KEYWORDS))}


def extract(root: Path = REPO_ROOT, *, config: Path = BABEL_CFG,
            strict: bool = False) -> Catalog:
    """What `pybabel extract -F babel.cfg -k ...` finds under `root`, as a catalog (its
    messages' locations relative to `root`). `strict`: a template the Jinja extractor cannot
    parse is an error instead of being skipped."""
    with config.open() as file:
        method_map, options_map = parse_mapping_cfg(file, str(config))
    if strict:
        for pattern, method in method_map:
            if method == "jinja2":
                options_map[pattern] = {**options_map.get(pattern, {}), "silent": "false"}
    catalog = Catalog(fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
            str(root), method_map, options_map, keywords=keywords(),
            comment_tags=("Translators:",)):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments,
                    context=context)
    return catalog


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webapp.i18n_tools", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    pseudo = commands.add_parser("pseudo", help="write the pseudo-locales' catalogs")
    pseudo.add_argument("--template", type=Path, default=None,
                        help=f"the template (default: <directory>/{TEMPLATE_NAME})")
    pseudo.add_argument("--directory", type=Path, default=TRANSLATIONS_DIR,
                        help="the translations directory (default: webapp/translations)")
    pseudo.add_argument("--compile", action="store_true", help="write the .mo files too")
    args = parser.parse_args(argv)

    template_path = args.template or args.directory / TEMPLATE_NAME
    if not template_path.exists():
        print(f"{template_path} does not exist: run `make translations`", file=sys.stderr)
        return 1
    template = read_catalog(template_path)
    for path in write_pseudo_locales(template, args.directory, compile_mo=args.compile):
        print(f"wrote {path} ({len(template)} messages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
