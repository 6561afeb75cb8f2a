"""Property-based tests: whatever the model text, sdkit runs it or raises SdkitError.

Two generators, each bounded (``max_examples``) and each example guarded by
an alarm so a hang fails the test instead of stalling the suite:

* small Vensim models whose flow is a random expression tree over a few
  variables, numbers and functions;
* random mutations (delete, duplicate, replace characters or lines) of
  conformance models, Vensim and XMILE.

Every example must either finish, or raise an :class:`sdkit.SdkitError`;
any other exception type is a leak. The model's folder must be unchanged
afterwards: sdkit writes only to its cache.
"""

from __future__ import annotations

import contextlib
import signal
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import sdkit
from sdkit import SdkitError

pytestmark = pytest.mark.slow

SECONDS_PER_EXAMPLE = 20
FUZZ = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
MAX_STEPS = 5_000  # mutated time settings may ask for a legitimately long run


@contextlib.contextmanager
def time_limit(seconds: int):
    """Fail (instead of hanging) if the block runs longer than `seconds`."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"example took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def fuzz_cache(tmp_path_factory):
    """A private translation cache for the whole module."""
    folder = tmp_path_factory.mktemp("fuzz-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SDKIT_CACHE_DIR", str(folder))
        yield folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _load_and_run(path: Path) -> object:
    """Load and (if short enough) run `path`; return the frame, None, or the SdkitError."""
    with time_limit(SECONDS_PER_EXAMPLE):
        try:
            model = sdkit.load_model(path)
            ts = model.time_settings
            if ts.dt > 0 and (ts.stop - ts.start) / ts.dt > MAX_STEPS:
                return None
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", sdkit.errors.SdkitWarning)
                return sdkit.simulate(model)
        except SdkitError as e:
            return e


# -- random expressions ----------------------------------------------------------
NUMBERS = st.sampled_from(["0", "1", "2", "0.5", "3", "10", "1e300", "1e-300", "(-1)",
                           "(-2.5)", "1000"])
LEAVES = st.one_of(NUMBERS, st.sampled_from(["A", "B", "Time", "S"]))
UNARY = ["ABS", "EXP", "LN", "SQRT", "SIN", "COS", "TAN", "ARCTAN", "INTEGER"]
BINARY_FUNCS = ["MIN", "MAX", "MODULO", "ZIDZ", "QUANTUM"]


def _combine(children):
    op = st.sampled_from(["+", "-", "*", "/", "^"])
    return st.one_of(
        st.tuples(children, op, children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(UNARY), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(BINARY_FUNCS), children, children)
        .map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(children, children, children)
        .map(lambda t: f"IF THEN ELSE({t[0]} > {t[1]}, {t[1]}, {t[2]})"),
        st.tuples(children, children, children).map(lambda t: f"XIDZ({t[0]}, {t[1]}, {t[2]})"),
        children.map(lambda c: f"-{c}"),
    )


EXPRESSIONS = st.recursive(LEAVES, _combine, max_leaves=8)


def _expression_model(flow: str, a: str, b: str) -> str:
    return (
        "{UTF-8}\n"
        f"A = {a} ~ Dmnl ~ |\nB = {b} ~ Dmnl ~ |\n"
        f"X = {flow} ~ Dmnl/Month ~ |\nS = INTEG(X, 1) ~ Dmnl ~ |\n"
        "INITIAL TIME = 0 ~ Month ~ |\nFINAL TIME = 4 ~ Month ~ |\n"
        "TIME STEP = 1 ~ Month ~ |\nSAVEPER = TIME STEP ~ Month ~ |\n"
    )


@FUZZ
@given(flow=EXPRESSIONS, a=NUMBERS, b=NUMBERS)
@example(flow="(1e300 ^ 2)", a="1", b="1")  # OverflowError leaked from PySD's run
@example(flow="(1000 ^ 1000)", a="1", b="1")  # idem, int power too large for a float
@example(flow="INTEGER(LN(0))", a="1", b="1")  # int(-inf) while caching constants
@example(flow="MODULO(A, 0)", a="1", b="0")
def test_random_expressions_run_or_raise_sdkit_error(flow, a, b, fuzz_cache):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "expr.mdl"
        path.write_text(_expression_model(flow, a, b))
        before = _snapshot(folder)
        result = _load_and_run(path)
        assert _snapshot(folder) == before
    if result is None or isinstance(result, SdkitError):
        return
    # a finished run is finite and integrates X into S (Euler, dt = 1, S(0) = 1)
    assert result["S"].iloc[0] == pytest.approx(1.0)
    assert result["S"].iloc[1] == pytest.approx(1.0 + result["X"].iloc[0], rel=1e-9, abs=1e-12)


# -- mutated conformance models -------------------------------------------------------
CONFORMANCE = Path(__file__).resolve().parents[2] / "shared" / "conformance"
SEEDS = [
    "samples/teacup/teacup.mdl",
    "samples/teacup/teacup.xmile",
    "samples/SIR/SIR.mdl",
    "tests/lookups/test_lookups.mdl",
    "tests/subscript_1d_arrays/test_subscript_1d_arrays.mdl",
    "tests/macro_expression/test_macro_expression.mdl",
    "tests/delay_pipeline/test_pipeline_delays.mdl",
    "tests/if_stmt/if_stmt.xmile",
]


def _seed_texts() -> list[tuple[str, str]]:
    out = []
    for rel in SEEDS:
        path = CONFORMANCE / rel
        if path.is_file():
            out.append((path.suffix, path.read_text(encoding="utf-8")))
    return out


SEED_TEXTS = _seed_texts()


@st.composite
def mutated_models(draw):
    suffix, text = draw(st.sampled_from(SEED_TEXTS))
    for _ in range(draw(st.integers(1, 3))):
        lines = text.splitlines(keepends=True)
        kind = draw(st.sampled_from(["del_char", "dup_char", "repl_char", "del_line",
                                     "dup_line", "swap_lines"]))
        if kind.endswith("char"):
            i = draw(st.integers(0, max(len(text) - 1, 0)))
            if kind == "del_char":
                text = text[:i] + text[i + 1:]
            elif kind == "dup_char":
                text = text[:i] + text[i:i + 1] + text[i:]
            else:
                c = draw(st.sampled_from(list("()[]=~|\"'\\:,;+-*/^ 0123456789.eE\n<>&!{}")))
                text = text[:i] + c + text[i + 1:]
        elif lines:
            i = draw(st.integers(0, len(lines) - 1))
            if kind == "del_line":
                del lines[i]
            elif kind == "dup_line":
                lines.insert(i, lines[i])
            else:
                j = draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
    return suffix, text


def test_seed_models_exist():
    assert len(SEED_TEXTS) >= 6, [s for s in SEEDS if not (CONFORMANCE / s).is_file()]


@FUZZ
@given(case=mutated_models())
def test_mutated_models_run_or_raise_sdkit_error(case, fuzz_cache):
    suffix, text = case
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / f"mutant{suffix}"
        path.write_text(text, encoding="utf-8")
        before = _snapshot(folder)
        _load_and_run(path)  # any non-SdkitError propagates
        assert _snapshot(folder) == before


# -- XML declarations (issue 12) ---------------------------------------------------------------
# The XML parser decodes by the declared encoding, sdkit's checks read UTF-8: every
# declaration must give the same document as the plain UTF-8 file, or be refused.
XMILE_TEACUP = (Path(__file__).resolve().parent / "models" / "teacup.xmile").read_bytes()
_PLAIN_DECL = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
assert XMILE_TEACUP.startswith(_PLAIN_DECL)
XMILE_BODY = XMILE_TEACUP[len(_PLAIN_DECL):]
# under UTF-7 "+ADg-" is "8": a parser that honoured UTF-7 would read Room Temperature 80
UTF7_BODY = XMILE_BODY.replace(b"<eqn>70</eqn>", b"<eqn>+ADg-0</eqn>").replace(
    b"<xmile ", b"+ADw-!DOCTYPE x +AFs- +ADw-!ENTITY e SYSTEM +ACI-file:///etc/passwd+ACI- "
                b"+AD4- +AF0- +AD4-\n<xmile ", 1)
ENCODINGS = ["UTF-8", "utf-8", "utf8", "UTF8", "Utf-8", "UTF-7", "utf-7", "ISO-8859-1",
             "latin1", "US-ASCII", "ascii", "UTF-16", "utf-16le", "UTF-32", "EBCDIC-US",
             "cp037", "Shift_JIS", "GB2312", "", " UTF-8", "UTF-8 ", "UTF-8\x00"]
BOMS = [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff",
        b"+/v8"]


@st.composite
def xml_declarations(draw) -> bytes:
    """Bytes of an XMILE file: BOM, optional declaration (any spelling), then a body."""
    q = draw(st.sampled_from(['"', "'"]))
    q2 = draw(st.sampled_from([q, q, '"' if q == "'" else "'"]))  # sometimes mismatched
    ws = st.sampled_from([" ", "\t", "\n", "  ", " \r\n"])
    parts = [f"version={q}1.0{q}"] if draw(st.booleans()) else []
    if draw(st.integers(0, 5)):
        key = draw(st.sampled_from(["encoding", "encoding", "ENCODING", "Encoding"]))
        eq = draw(st.sampled_from(["=", " = ", "=\t"]))
        name = draw(st.one_of(st.sampled_from(ENCODINGS), st.sampled_from(["UTF-7", "utf-7"])))
        parts.append(f"{key}{eq}{q}{name}{q2}")
    if draw(st.booleans()):
        parts.append(f"standalone={q}{draw(st.sampled_from(['yes', 'no']))}{q}")
    target = draw(st.sampled_from(["xml", "xml", "xml", "XML", "Xml"]))
    decl = f"<?{target}{draw(ws)}{draw(ws).join(parts)}{draw(st.sampled_from(['', ' ']))}?>"
    lead = draw(st.sampled_from(["", "", "", "\n", " "]))
    head = b"" if draw(st.integers(0, 7)) == 0 else (lead + decl).encode("utf-8")
    body = draw(st.sampled_from([XMILE_BODY, UTF7_BODY]))
    bom = draw(st.sampled_from(BOMS)) if draw(st.integers(0, 3)) == 0 else b""
    return bom + head + body


def _document_shape(path: Path) -> list:
    from sdkit.model.translate import read_abstract_model

    section = read_abstract_model(path).sections[0]
    return [(e.name, [repr(c.ast) for c in e.components]) for e in section.elements]


@pytest.fixture(scope="module")
def plain_shape(tmp_path_factory):
    path = tmp_path_factory.mktemp("plain") / "teacup.xmile"
    path.write_bytes(XMILE_TEACUP)
    return _document_shape(path)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=xml_declarations())
@example(data=b'<?xml version="1.0" encoding="UTF-7"?>' + UTF7_BODY)  # the attacker's file
@example(data=b"<?xml version='1.0' encoding='utf-7'?>" + UTF7_BODY)
@example(data=b'<?xml version="1.0"\tencoding = "UTF-7" ?>' + UTF7_BODY)
@example(data=b'<?xml encoding="UTF-7"?>' + UTF7_BODY)  # no version: libxml2 still honours it
@example(data=b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-7"?>' + UTF7_BODY)
@example(data=b'<?xml version="1.0" encoding="UTF-8"?>' + XMILE_BODY)
@example(data=b"\xef\xbb\xbf<?xml version='1.0' encoding='utf8'?>" + XMILE_BODY)
def test_xml_declarations_load_as_plain_text_or_are_refused(data, plain_shape, tmp_path):
    path = tmp_path / "decl.xmile"
    path.write_bytes(data)
    with time_limit(SECONDS_PER_EXAMPLE):
        try:
            shape = _document_shape(path)
        except SdkitError:
            return  # refused, with sdkit's one-line error
    assert shape == plain_shape  # never a different parse (e.g. Room Temperature 80)


# -- Vensim encoding headers, byte-order marks and newlines ---------------------------
def _vensim_attack(marker: Path, bom: bytes, header: str, quote: str, newline: str) -> bytes:
    """The byte-order-mark attack of issue 12 in many spellings, payload creating `marker`."""
    payload = ("__import__(" + "+".join(f"chr({ord(c)})" for c in "os") + ").system("
               + "+".join(f"chr({ord(c)})" for c in f"touch {marker}") + ")")
    lines = [header, f'A = WITH LOOKUP(Time, ([{payload} or (0,0),(1,1)],(0,0),(1,1))) '
             f"~ u{quote} ~ d |", "X = A ~~|", "S = INTEG(X, 0) ~~|",
             "FINAL TIME = 1 ~ t ~ |", "INITIAL TIME = 0 ~ t ~ |", "SAVEPER = 1 ~ t ~ |",
             "TIME STEP = 1 ~ t ~ |"]
    return bom + newline.join(lines).encode("utf-8")


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@example(bom=b"\xef\xbb\xbf", header='{UTF-8 "}\nG" ~ x |', quote='"', newline="\n")  # issue 12
@given(bom=st.sampled_from([b"", b"\xef\xbb\xbf", b"\xef\xbb\xbf\xef\xbb\xbf"]),
       header=st.sampled_from(["{UTF-8}", '{UTF-8 "}\nG" ~ x |', "{ANSI}", "{utf-8 '}", "",
                               '{UTF-8}\n"', "{UTF-8 {}"]),
       quote=st.sampled_from(["", '"', "'"]),
       newline=st.sampled_from(["\n", "\r\n", "\r"]))
def test_vensim_headers_and_boms_never_run_code(bom, header, quote, newline, tmp_path,
                                                monkeypatch):
    """Whatever the header, BOM or newline, the lookup payload never runs."""
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(tmp_path / "cache"))
    marker = tmp_path / "PWNED"
    folder = tmp_path / "m"
    folder.mkdir(exist_ok=True)
    path = folder / "attack.mdl"
    path.write_bytes(_vensim_attack(marker, bom, header, quote, newline))
    with time_limit(SECONDS_PER_EXAMPLE):
        try:
            sdkit.simulate(sdkit.load_model(path), check_finite=False)
        except SdkitError:
            pass
    assert not marker.exists()
    assert [p.name for p in folder.iterdir()] == ["attack.mdl"]
