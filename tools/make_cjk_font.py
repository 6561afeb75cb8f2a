"""Build the CJK font subset sdkit's reports ship (``sdkit/report/assets/``).

The report's figures (matplotlib) and its HTML page (Chromium) must show
Chinese text (units such as 亿元 or 万人, city and data-source names) on a
machine without CJK fonts and without network. sdkit therefore ships a subset
of Noto Sans CJK SC (SIL Open Font License 1.1, © Adobe; the licence is
``sdkit/report/assets/OFL.txt``), renamed "sdkit CJK Sans" as the OFL asks
of modified fonts, holding:

* the 3,755 level-1 hanzi of GB 2312 (the most common simplified characters);
* every CJK character in the project's models, configurations, calibration
  specs and data READMEs (scanned when the subset is built);
* CJK symbols and punctuation (U+3000-U+303F) and full-width forms
  (U+FF01-U+FF5E, U+FFE0-U+FFE6).

Layout features and hinting are dropped (horizontal text at report sizes
needs neither): about 0.8 MB. The HTML page embeds a further subset holding
only the characters it shows (:func:`sdkit.report.fonts.font_face_css`).

Usage (the source is Debian's ``fonts-noto-cjk``; ``apt-get download
fonts-noto-cjk && dpkg-deb -x fonts-noto-cjk_*.deb x`` unpacks it without
installing it)::

    python tools/make_cjk_font.py x/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

from sdkit.report.fonts import CJK_RANGES

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "sdkit" / "report" / "assets" / "sdkit-cjk-sans.otf"
FAMILY = "sdkit CJK Sans"
#: what is scanned for characters: models, configurations, specs, data READMEs, the package
SCANNED = ("models", "reports", "calibration", "sdkit", "docs", "examples", "README.md",
           "study.toml", "../shared/data")
TEXT_SUFFIXES = {".mdl", ".xmile", ".stmx", ".toml", ".md", ".txt", ".csv", ".py", ".j2",
                 ".json", ".cin", ".tab", ".html"}
EXTRA = [*range(0x3000, 0x3040), *range(0xFF01, 0xFF5F), *range(0xFFE0, 0xFFE7)]


def is_cjk(code: int) -> bool:
    """True for the code points a Latin font lacks and the CJK subset is meant to hold."""
    return any(low <= code <= high for low, high in CJK_RANGES)


def gb2312_level1() -> list[int]:
    """The 3,755 level-1 hanzi of GB 2312 (rows 16-55, in the codec's order)."""
    out = []
    for row in range(0xB0, 0xD8):
        for cell in range(0xA1, 0xFF):
            if row == 0xD7 and cell > 0xF9:
                break
            out.append(ord(bytes([row, cell]).decode("gb2312")))
    return out


def project_characters(root: Path = ROOT) -> set[int]:
    """CJK code points in the project's text files."""
    found: set[int] = set()
    for name in SCANNED:
        base = (root / name).resolve()
        files = [base] if base.is_file() else sorted(base.rglob("*")) if base.is_dir() else []
        for f in files:
            if f.suffix.lower() not in TEXT_SUFFIXES or ".venv" in f.parts:
                continue
            try:
                text = f.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            found.update(ord(c) for c in text if is_cjk(ord(c)))
    return found


def _rename(font: TTFont) -> None:
    """Family "sdkit CJK Sans" (the OFL asks a modified font not to keep the original name)."""
    ps = FAMILY.replace(" ", "") + "-Regular"
    names = {1: FAMILY, 2: "Regular", 3: f"{ps};subset of Noto Sans CJK SC", 4: FAMILY,
             6: ps, 16: FAMILY, 17: "Regular"}
    table = font["name"]
    table.names = [n for n in table.names if n.nameID not in names]
    for ident, text in names.items():
        table.setName(text, ident, 3, 1, 0x409)
        table.setName(text, ident, 1, 0, 0)
    desc = ("Subset of Noto Sans CJK SC (SIL Open Font License 1.1) made for sdkit's reports "
            "by tools/make_cjk_font.py.")
    table.setName(desc, 10, 3, 1, 0x409)
    cff = font["CFF "].cff
    cff.fontNames = [ps]
    top = cff.topDictIndex[0]
    top.FullName, top.FamilyName = FAMILY, FAMILY


def build(source: Path, out: Path = OUT, *, index: int | None = None) -> int:
    """Write the subset of `source` (a .ttc holding Noto Sans CJK SC, or an .otf) to `out`."""
    if source.suffix.lower() == ".ttc":
        fonts = TTCollection(str(source)).fonts
        pick = index if index is not None else next(
            i for i, f in enumerate(fonts) if f["name"].getDebugName(1) == "Noto Sans CJK SC")
        font = fonts[pick]
    else:
        font = TTFont(str(source))
    wanted = sorted(set(gb2312_level1()) | project_characters() | set(EXTRA))
    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    options.notdef_outline = True
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 7, 10, 13, 14, 16, 17]
    sub = subset.Subsetter(options)
    sub.populate(unicodes=wanted)
    sub.subset(font)
    _rename(font)
    out.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(out))
    return len(font.getBestCmap())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="NotoSansCJK-Regular.ttc (or an .otf)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--index", type=int, help="font number in the .ttc (default: SC)")
    args = parser.parse_args(argv)
    n = build(args.source, args.out, index=args.index)
    print(f"wrote {args.out} ({n} characters, {args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
