"""The CJK font of the reports: Chinese text in figures and in the HTML page, offline.

sdkit ships "sdkit CJK Sans" (``assets/sdkit-cjk-sans.otf``), a subset of
Noto Sans CJK SC under the SIL Open Font License 1.1 (``assets/OFL.txt``),
holding the 3,755 level-1 hanzi of GB 2312, every CJK character of the
project's models, configurations and data READMEs, CJK punctuation and
full-width forms (``tools/make_cjk_font.py`` builds it). Nothing is installed
and nothing is fetched:

* figures: :func:`report_fonts` (around building figures, so that layouts
  measure CJK text with it) and :func:`figure_fonts` (around saving one
  :class:`~matplotlib.figure.Figure`) add the font as the last fallback family
  (Latin text keeps its font; no global ``rcParams`` change outlives the
  ``with`` block);
* HTML: :func:`embed_font` adds an ``@font-face`` rule holding a subset of
  the font with just the characters the page shows, as a base64 ``data:``
  URI (the page stays one self-contained file).

Characters no font covers are never drawn as silent boxes:
:class:`~sdkit.errors.SdkitWarning` names them.
"""

from __future__ import annotations

import base64
import functools
import io
import logging
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sdkit.errors import SdkitWarning

if TYPE_CHECKING:  # annotations only
    from matplotlib.figure import Figure

__all__ = ["FAMILY", "FONT_FILE", "CJK_RANGES", "covered", "is_cjk", "missing", "figure_fonts",
           "report_fonts", "font_face_css", "embed_font"]

#: the family name of the shipped font, in figures and in the HTML page
FAMILY = "sdkit CJK Sans"
FONT_FILE = Path(__file__).with_name("assets") / "sdkit-cjk-sans.otf"


#: the code point ranges of :func:`is_cjk` (also the ``unicode-range`` of the HTML font)
CJK_RANGES = ((0x2E80, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFE30, 0xFE4F),
              (0xFF00, 0xFFEF), (0x20000, 0x2FFFF))


def is_cjk(char: str) -> bool:
    """True for characters of the CJK blocks (ideographs, kana, hangul, CJK punctuation,
    full-width forms), which Latin fonts lack."""
    code = ord(char)
    return any(low <= code <= high for low, high in CJK_RANGES)


@functools.cache
def _cmap(path: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont  # heavy: fontTools only when a font is inspected

    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap())


def covered() -> frozenset[int]:
    """Code points the shipped font holds."""
    return _cmap(str(FONT_FILE))


def _names(chars: Iterable[str]) -> str:
    return ", ".join(f"{c} (U+{ord(c):04X})" for c in sorted(set(chars)))


def missing(text: str) -> str:
    """The CJK characters of `text` the shipped font lacks, sorted, without repeats."""
    have = covered()
    return "".join(sorted(c for c in set(text) if is_cjk(c) and ord(c) not in have))


# -- figures ---------------------------------------------------------------------------------


@functools.cache
def _register() -> str:
    """Make the shipped font known to matplotlib (once per process) and return its family."""
    from matplotlib import font_manager  # heavy: matplotlib only when a figure is saved

    font_manager.fontManager.addfont(str(FONT_FILE))
    return FAMILY


def _font_cmaps(families: tuple[str, ...]) -> frozenset[int]:
    """Code points of the fonts matplotlib uses for `families` (first match per family)."""
    from matplotlib import font_manager  # heavy: matplotlib only when a figure is saved

    out: set[int] = set()
    for fam in families:
        prop = font_manager.FontProperties(family=[fam])
        path = font_manager.fontManager.findfont(prop, fallback_to_default=fam != FAMILY)
        out |= _cmap(str(path))
    return frozenset(out)


def _texts(fig: Figure) -> list:
    from matplotlib.text import Text  # heavy: matplotlib only when a figure is saved

    return fig.findobj(Text)


@contextmanager
def figure_fonts(fig: Figure) -> Iterator[Figure]:
    """Within the block, every text of `fig` falls back to the shipped CJK font.

    Each text keeps its own families and gets :data:`FAMILY` appended
    (matplotlib draws each character with the first family that has it).
    Texts created while saving (tick labels) get the same families through a
    temporary ``rcParams`` context. Characters no family holds are named in
    one :class:`~sdkit.errors.SdkitWarning` instead of matplotlib's
    per-glyph warnings.

    Examples
    --------
    >>> with figure_fonts(fig):  # doctest: +SKIP
    ...     fig.savefig("out.png")
    """
    family = _register()
    cmaps: dict[tuple[str, ...], frozenset[int]] = {}
    lacking: set[str] = set()
    for text in _texts(fig):
        families = tuple(text.get_fontfamily())
        if family not in families:
            families = (*families, family)
            text.set_fontfamily(list(families))
        if families not in cmaps:
            cmaps[families] = _font_cmaps(families)
        lacking |= {c for c in text.get_text() if not c.isspace() and ord(c) not in cmaps[families]}
    if lacking:
        warnings.warn(f"figure text has characters no bundled font holds (drawn as boxes): "
                      f"{_names(lacking)}", SdkitWarning, stacklevel=3)
    with report_fonts(), warnings.catch_warnings():
        if lacking:  # named above, once
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from",
                                    category=UserWarning)
        yield fig


@contextmanager
def report_fonts() -> Iterator[str]:
    """Within the block, matplotlib text falls back to the shipped CJK font.

    A temporary ``rcParams`` context (restored on exit) appends :data:`FAMILY`
    to ``font.family``: texts created inside (a figure built in the block) keep
    the fallback, and layouts computed inside (``tight_layout``) measure CJK text
    with it. Yields the family name.
    """
    import matplotlib  # heavy: matplotlib only when a figure is drawn

    family = _register()
    default = list(matplotlib.rcParams["font.family"])
    log = logging.getLogger("matplotlib.font_manager")
    level = log.level
    log.setLevel(logging.ERROR)  # "no bold weight for sdkit CJK Sans": the regular one is used
    try:
        with matplotlib.rc_context({"font.family": default if family in default
                                    else [*default, family]}):
            yield family
    finally:
        log.setLevel(level)


# -- HTML ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _subset(codes: frozenset[int]) -> bytes:
    """The shipped font cut down to `codes` (OpenType/CFF bytes)."""
    from fontTools import subset  # heavy: fontTools only when a page shows CJK text
    from fontTools.ttLib import TTFont  # heavy: as above

    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    options.notdef_outline = True
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 7, 10, 13, 14, 16, 17]
    with TTFont(str(FONT_FILE)) as font:
        sub = subset.Subsetter(options)
        sub.populate(unicodes=sorted(codes))
        sub.subset(font)
        buf = io.BytesIO()
        font.save(buf)
    return buf.getvalue()


def font_face_css(text: str) -> str:
    """An ``@font-face`` rule for :data:`FAMILY` holding the CJK characters of `text`.

    Returns ``""`` when `text` has no CJK character the font holds. Characters
    it lacks are named in a :class:`~sdkit.errors.SdkitWarning` (a reader's
    system fonts may still show them).
    """
    cjk = "".join(c for c in set(text) if is_cjk(c))  # set() first: pages are megabytes
    lacking = missing(cjk)
    if lacking:
        warnings.warn(f"report text has CJK characters the bundled font lacks (the reader's "
                      f"own fonts must supply them, else they show as boxes): "
                      f"{_names(lacking)}", SdkitWarning, stacklevel=2)
    codes = frozenset(map(ord, cjk)) & covered()
    if not codes:
        return ""
    data = base64.b64encode(_subset(codes)).decode("ascii")
    ranges = ", ".join(f"U+{low:X}-{high:X}" for low, high in CJK_RANGES)
    return (f'@font-face {{ font-family: "{FAMILY}"; font-style: normal; font-weight: 400; '
            f'src: url(data:font/otf;base64,{data}) format("opentype"); '
            f"unicode-range: {ranges}; }}")


def embed_font(html: str) -> str:
    """`html` with :func:`font_face_css` for its own text in a ``<style>`` before ``</head>``.

    The page's CSS names :data:`FAMILY` first in its ``font-family`` lists: the
    rule's ``unicode-range`` limits it to CJK characters (Latin text keeps the
    next family). Listed only as a later fallback, Chromium never loads the
    font and draws boxes (measured with ``CSS.getPlatformFontsForNode``).
    """
    css = font_face_css(html)
    if not css or "</head>" not in html:
        return html
    head, _, rest = html.partition("</head>")
    return f'{head}<style id="sdkit-cjk-font">{css}</style>\n</head>{rest}'
