"""Write-back editing: only the edited numbers change, and the model runs with them."""

from __future__ import annotations

import math
import re
import shutil
import warnings
from pathlib import Path

import pytest

import sdkit
from sdkit.cli import main
from sdkit.edit.mdl_text import NUMBER, _numbers, scan_mdl
from sdkit.edit.numbers import format_number
from sdkit.edit.writeback import edit_model, model_diff_text, save_model
from sdkit.edit.xmile_text import _SUB, _number_span, _top_eqn, scan_xmile
from sdkit.errors import InvalidValueError, OutputError, UnknownVariableError
from sdkit.model.names import canonical

CONFORMANCE = Path(__file__).resolve().parents[2] / "shared" / "conformance"

CONTROL = {"initial time", "final time", "time step", "saveper"}
NEW = 2.75  # small: some models take EXP() of their constants


def _first_constant(path: Path) -> str | None:
    """Name of the first plain scalar numeric constant in a model file, if any."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".mdl":
        for eq in scan_mdl(text):
            if (eq.kind == "eq" and not eq.subscripts and not eq.in_macro
                    and canonical(eq.name) not in CONTROL):
                nums = _numbers(text, eq.expr_start, eq.expr_end)
                if nums and len(nums) == 1:
                    return eq.name
        return None
    for var in scan_xmile(text, path=path):
        inner = text[var.start:var.end]
        if var.tag in {"aux", "flow"} and "<gf" not in inner and not _SUB.search(inner):
            span = _top_eqn(text, var)
            if span and _number_span(text, span) and canonical(var.name) not in CONTROL:
                return var.name
    return None


def _conformance_cases() -> list[tuple[Path, str]]:
    files = sorted(CONFORMANCE.glob("tests/*/*.mdl")) + sorted(CONFORMANCE.glob("tests/*/*.xmile"))
    cases = []
    for path in files:
        name = _first_constant(path)
        if name is not None:
            cases.append((path, name))
    return cases


CASES = _conformance_cases()


def _changed_middle(old: str, new: str) -> tuple[str, str, int]:
    """The differing middle of two texts, widened to whole number tokens."""
    p = 0
    while p < min(len(old), len(new)) and old[p] == new[p]:
        p += 1
    s = 0
    while s < min(len(old), len(new)) - p and old[-1 - s] == new[-1 - s]:
        s += 1
    while p > 0 and (old[p - 1].isdigit() or old[p - 1] in ".eE+-"):
        p -= 1
    while s > 0 and (old[len(old) - s].isdigit() or old[len(old) - s] in ".eE+-"):
        s -= 1
    return old[p:len(old) - s], new[p:len(new) - s], p


def test_there_are_cases():
    assert len(CASES) >= 40
    assert any(p.suffix == ".xmile" for p, _ in CASES)


def _load(path: Path):
    """Load a model as users do: PySD's own UserWarnings (e.g. 'defined with different
    types') are not errors there, and the cached original was translated that way."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return sdkit.load_model(path)


DATA_SUFFIXES = {".xlsx", ".xls", ".csv", ".tab", ".ods"}


def _copy_with_data(path: Path, text: str, folder: Path, monkeypatch) -> Path:
    """Save the edited model in `folder` beside copies of the data files it reads.

    The translation cache is keyed by the model's bytes and links the data of
    the folder it first saw, so a model reading data gets its own cache here
    (the next run's temporary folder differs).
    """
    data = [p for p in path.parent.iterdir()
            if p.is_file() and p != path and p.suffix.lower() in DATA_SUFFIXES
            and p.name != "output.tab"]
    for sibling in data:
        shutil.copy(sibling, folder / sibling.name)
    if data:
        monkeypatch.setenv("SDKIT_CACHE_DIR", str(folder / "cache"))
    return save_model(path, text, out=folder / path.name)


@pytest.mark.slow
@pytest.mark.parametrize(("path", "name"), CASES, ids=lambda v: v.name if isinstance(v, Path)
                         else str(v))
def test_edit_conformance_constant(tmp_path, monkeypatch, path, name):
    old = path.read_bytes().decode("utf-8")
    # arbitrary values: the declared [min, max] is not what this test is about
    probe = edit_model(path, {name: NEW}, force=True)
    old_value = float(_changed_middle(old, probe)[0])
    value = abs(old_value) * 2 + 1  # same sign and scale as the original, so the model runs
    new = edit_model(path, {name: value}, force=True)
    old_mid, new_mid, _ = _changed_middle(old, new)
    # exactly one number token differs; everything before and after is untouched
    assert re.fullmatch(NUMBER, old_mid)
    assert new_mid == format_number(value)
    copy = _copy_with_data(path, new, tmp_path, monkeypatch)
    try:
        model = _load(path)
    except sdkit.TranslationError:
        # sdkit does not load the original: the edit must not change that either
        with pytest.raises(sdkit.TranslationError):
            _load(copy)
        return
    assert float(old_mid) == float(model.variable(name).value)
    edited = _load(copy)
    ts = edited.time_settings
    # one step, saving every step (a SAVEPER longer than one step would warn)
    out = sdkit.simulate(edited, stop=ts.start + ts.dt, saveper=ts.dt, outputs=[name])
    assert out[name].iloc[0] == value


def test_teacup_exact_bytes(teacup_path):
    old = teacup_path.read_text()
    new = edit_model(teacup_path, {"room temperature": 20.5, "Characteristic_Time": 7})
    assert new == old.replace("Room Temperature=\n\t70\n", "Room Temperature=\n\t20.5\n").replace(
        "Characteristic Time=\n\t10\n", "Characteristic Time=\n\t7\n")


def test_xmile_keeps_views(models_dir):
    path = models_dir / "teacup.xmile"
    old = path.read_text()
    new = edit_model(path, {"Room Temperature": 21})
    diff = model_diff_text(path, new)
    changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in {"+++", "---"}]
    assert len(changed) == 2 and "70" in changed[0] and "21" in changed[1]
    assert len(new) == len(old)


def _mdl(tmp_path, body: str, crlf: bool = False) -> Path:
    text = "{UTF-8}\n" + body + (
        "INITIAL TIME = 0\n\t~\tMonth\n\t~\t|\n\nFINAL TIME = 4\n\t~\tMonth\n\t~\t|\n\n"
        "TIME STEP = 1\n\t~\tMonth\n\t~\t|\n\nSAVEPER = TIME STEP\n\t~\tMonth\n\t~\t|\n\n"
        "\\\\\\---/// Sketch information - do not modify anything except names\n"
        "V300  Do not put anything below this section - it will be ignored\n*View 1\n"
        "10,1,Rate A,218,156,72,24,8,131,0,0,0,0,0,0\n"
    )
    if crlf:
        text = text.replace("\n", "\r\n")
    path = tmp_path / "m.mdl"
    path.write_bytes(text.encode("utf-8"))
    return path


SUBSCRIPTED = (
    "Region: North, South, (r1-r2)\n\t~\t~\t|\n\n"
    "Kind: k1, k2\n\t~\t~\t|\n\n"
    "Rate A[Region] = 1, 2, 3, 4\n\t~\t1/Month\n\t~\tlist { with a comment }|\n\n"
    "Grid[Region, Kind] = 1, 2; 3, 4; 5, 6; 7, 8;\n\t~\tDmnl\n\t~\t|\n\n"
    "Each[North] = 10 ~~|\nEach[South] = 20 ~~|\nEach[r1] = 30 ~~|\n"
    "Each[r2] = 40\n\t~\tDmnl\n\t~\t|\n\n"
    "Same[Region] = 5\n\t~\tDmnl\n\t~\t|\n\n"
    "Formula = Rate A[North] * 2\n\t~\t1/Month\n\t~\t|\n\n"
    "Table(\n\t[(0,0)-(2,2)],(0,0),(1,1),(2,2))\n\t~\tDmnl\n\t~\t|\n\n"
    "Looked = WITH LOOKUP(Time, ([(0,0)-(4,1)],(0,0),(4,1)))\n\t~\tDmnl\n\t~\t|\n\n"
)


@pytest.mark.parametrize("crlf", [False, True])
def test_subscripted_and_lookup_edits(tmp_path, crlf):
    path = _mdl(tmp_path, SUBSCRIPTED, crlf=crlf)
    old = path.read_bytes().decode()
    nl = "\r\n" if crlf else "\n"
    new = edit_model(path, {"Rate A[South]": 9, "Rate A[r2]": 8.5, "Grid[r1, k2]": -6,
                            "Each[r1]": 33, "Same": 6, "Table": [(0, 0), (1, 3), (2, 2)],
                            "Looked": [(0, 1), (5, 0)]})
    expected = (old.replace("Rate A[Region] = 1, 2, 3, 4", "Rate A[Region] = 1, 9, 3, 8.5")
                .replace("3, 4; 5, 6; 7, 8;", "3, 4; 5, -6; 7, 8;")
                .replace("Each[r1] = 30", "Each[r1] = 33")
                .replace("Same[Region] = 5", "Same[Region] = 6")
                .replace(f"Table({nl}\t[(0,0)-(2,2)],(0,0),(1,1),(2,2))",
                         f"Table({nl}\t[(0,0)-(2,3)],(0,0),(1,3),(2,2))")
                .replace("([(0,0)-(4,1)],(0,0),(4,1))", "([(0,0)-(5,1)],(0,1),(5,0))"))
    assert new == expected
    save_model(path, new, out=tmp_path / "out.mdl")
    model = sdkit.load_model(tmp_path / "out.mdl")
    out = sdkit.simulate(model, stop=1, outputs=["Rate A[South]", "Grid[r1,k2]", "Each[r1]",
                                                  "Same[North]", "Looked"])
    row = out.iloc[1]
    assert (row["Rate A[South]"], row["Grid[r1,k2]"], row["Each[r1]"], row["Same[North]"]) == (
        9, -6, 33, 6)
    assert row["Looked"] == pytest.approx(0.8)


@pytest.mark.parametrize(("changes", "error", "fragment"), [
    ({"Nope": 1}, UnknownVariableError, "no variable named 'Nope'"),
    ({"Rate A[West]": 1}, UnknownVariableError, "no element West"),
    ({"Formula": 1}, InvalidValueError, "not a constant: 'Rate A[North] * 2'"),
    ({"Rate A": 1}, InvalidValueError, "one value per subscript element"),
    ({"Same[North]": 1}, InvalidValueError, "takes one value"),
    ({"Table": 1}, InvalidValueError, "is a lookup table"),
    ({"Formula": [(0, 1), (1, 2)]}, InvalidValueError, "not a lookup table"),
    ({"Table": [(1, 1), (0, 2)]}, InvalidValueError, "increase strictly"),
    ({"Same": float("nan")}, InvalidValueError, "finite"),
    ({"Same": "abc"}, InvalidValueError, "must be a number"),
])
def test_edit_errors(tmp_path, changes, error, fragment):
    path = _mdl(tmp_path, SUBSCRIPTED)
    with pytest.raises(error) as info:
        edit_model(path, changes)
    assert str(path) in str(info.value)
    assert fragment in str(info.value)


def test_xmile_elements_and_gf(tmp_path):
    src = CONFORMANCE / "tests/subscript_individually_defined_1d_arrays"
    path = tmp_path / "m.xmile"
    shutil.copy(next(src.glob("*.xmile")), path)
    old = path.read_text()
    name = "rate a" if "rate a" in old.lower() else None
    assert name is not None
    new = edit_model(path, {"Rate A[Entry 2]": 0.25})
    assert new == old.replace("<eqn>0.2</eqn>", "<eqn>0.25</eqn>", 1)
    with pytest.raises(InvalidValueError, match="one value per subscript element"):
        edit_model(path, {"Rate A": 1})
    lookups = CONFORMANCE / "tests/lookups/test_lookups.xmile"
    new = edit_model(lookups, {"lookup function table": [(0, 0), (10, 1), (45, -1)]})
    old = lookups.read_text()
    assert new == old.replace("<xpts>0,5,10,15,20,25,30,35,40,45</xpts>", "<xpts>0,10,45</xpts>"
                              ).replace("<ypts>0,0,1,1,0,0,-1,-1,0,0</ypts>", "<ypts>0,1,-1</ypts>")


def test_save_model_backups_and_refusals(tmp_path, teacup_path):
    path = tmp_path / "teacup.mdl"
    shutil.copy(teacup_path, path)
    original = path.read_bytes()
    first = edit_model(path, {"Room Temperature": 20})
    save_model(path, first, in_place=True)
    assert (tmp_path / "teacup.mdl.bak").read_bytes() == original
    second = edit_model(path, {"Room Temperature": 25})
    save_model(path, second, in_place=True)
    assert (tmp_path / "teacup.mdl.bak").read_bytes() == original
    assert (tmp_path / "teacup.mdl.bak.1").read_text() == first
    assert path.read_text() == second
    with pytest.raises(OutputError):
        save_model(path, second, out=tmp_path / "teacup.mdl.bak")
    with pytest.raises(InvalidValueError):
        save_model(path, second)


def test_latin1_file_keeps_encoding(tmp_path):
    path = tmp_path / "m.mdl"
    body = "Caf\xe9 price = 3\n\t~\t$\n\t~\tprix \xe0 payer\n\t|\n\n"
    path.write_bytes(body.encode("latin-1"))
    new = edit_model(path, {"Caf\xe9 price": 4})
    save_model(path, new, out=tmp_path / "out.mdl")
    assert (tmp_path / "out.mdl").read_bytes() == body.replace("= 3", "= 4").encode("latin-1")


def test_set_cli(tmp_path, teacup_path, capsys):
    path = tmp_path / "teacup.mdl"
    shutil.copy(teacup_path, path)
    before = path.read_bytes()
    assert main(["set", str(path), "Room Temperature=20"]) == 0
    out = capsys.readouterr().out
    assert "-\t70" in out and "+\t20" in out
    assert path.read_bytes() == before  # diff only
    cin = tmp_path / "fit.cin"
    cin.write_text("Characteristic Time = 4\n")
    assert main(["set", str(path), "Room Temperature=20", "--cin", str(cin),
                 "--out", str(tmp_path / "new.mdl")]) == 0
    capsys.readouterr()
    new = (tmp_path / "new.mdl").read_text()
    assert "Characteristic Time=\n\t4\n" in new and "Room Temperature=\n\t20\n" in new
    assert main(["set", str(path), "Room Temperature=19", "--in-place"]) == 0
    assert "original kept as" in capsys.readouterr().out
    assert (tmp_path / "teacup.mdl.bak").read_bytes() == before
    assert main(["set", str(path), "Nope=1"]) == 2
    assert "no variable named 'Nope'" in capsys.readouterr().err


def _first_list_constant(path: Path) -> tuple[str, tuple[str, ...]] | None:
    """(name, last element) of the first constant defined by a list of numbers."""
    from sdkit.edit.mdl_text import _ranges

    text = path.read_text(encoding="utf-8")
    eqs = [e for e in scan_mdl(text) if not e.in_macro]
    ranges = _ranges(text, eqs)
    for eq in eqs:
        if eq.kind != "eq" or not eq.subscripts or eq.except_:
            continue
        if sum(canonical(e.name) == canonical(eq.name) for e in eqs) != 1:
            continue
        nums = _numbers(text, eq.expr_start, eq.expr_end)
        dims = [ranges.get(canonical(s), [canonical(s)]) for s in eq.subscripts]
        if nums and len(nums) > 1 and len(nums) == math.prod(len(d) for d in dims):
            return eq.name, tuple(d[-1] for d in dims)
    return None


LIST_CASES = [(p, *found) for p in sorted(CONFORMANCE.glob("tests/*/*.mdl"))
              if (found := _first_list_constant(p)) is not None]


def test_there_are_list_cases():
    assert len(LIST_CASES) >= 10


@pytest.mark.slow
@pytest.mark.parametrize(("path", "name", "elems"), LIST_CASES,
                         ids=lambda v: v.name if isinstance(v, Path) else str(v))
def test_edit_conformance_list_element(tmp_path, monkeypatch, path, name, elems):
    key = f"{name}[{','.join(elems)}]"
    old = path.read_bytes().decode("utf-8")
    new = edit_model(path, {key: -7.25}, force=True)
    old_mid, new_mid, _ = _changed_middle(old, new)
    assert re.fullmatch(NUMBER, old_mid) and new_mid == "-7.25"
    copy = _copy_with_data(path, new, tmp_path, monkeypatch)
    try:
        _load(path)
    except sdkit.TranslationError:
        with pytest.raises(sdkit.TranslationError):
            _load(copy)
        return
    edited = _load(copy)
    values = sdkit.to_dataset(sdkit.simulate(edited, outputs=[name]), edited)[name].isel(time=0)
    loc = {}
    for dim, elem in zip(values.dims, elems):
        loc[dim] = next(c for c in values.coords[dim].values if str(c).lower() == elem)
    assert float(values.loc[loc]) == -7.25
    others = values.values.ravel()
    assert (others == -7.25).sum() == 1  # only that element changed


RANGED_XMILE = """<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
    <header><name>r</name></header>
    <sim_specs><start>0</start><stop>2</stop><dt>1</dt></sim_specs>
    <model><variables>
        <aux name="Share"><eqn>0.5</eqn><range min="0" max="1"/></aux>
        <aux name="Free"><eqn>3</eqn></aux>
    </variables></model>
</xmile>
"""


@pytest.mark.parametrize(("change", "bounds"), [
    ({"Room Temperature": -500}, "[-459.67, ?]"),
    ({"Characteristic Time": -1}, "[0, ?]"),
])
def test_set_refuses_values_outside_the_declared_range(teacup_path, change, bounds):
    with pytest.raises(InvalidValueError) as info:
        edit_model(teacup_path, change)
    (name, value), = change.items()
    message = str(info.value)
    assert f"{name} = {value} is outside the declared range {bounds} of {name!r}" in message
    assert "--force" in message and "\n" not in message
    forced = edit_model(teacup_path, change, force=True)
    assert f"{name}=\n\t{value}\n" in forced


def test_set_range_bounds_are_inclusive(teacup_path):
    assert "Characteristic Time=\n\t0\n" in edit_model(teacup_path, {"Characteristic Time": 0})


def test_set_refuses_out_of_range_in_xmile(tmp_path):
    path = tmp_path / "r.xmile"
    path.write_text(RANGED_XMILE)
    with pytest.raises(InvalidValueError, match=r"Share = 1.5 is outside the declared range "
                                                r"\[0, 1\] of 'Share'"):
        edit_model(path, {"Share": 1.5})
    assert "<eqn>0.25</eqn>" in edit_model(path, {"Share": 0.25})
    assert "<eqn>-1e+06</eqn>" in edit_model(path, {"Free": -1e6}) or \
        "<eqn>-1000000</eqn>" in edit_model(path, {"Free": -1e6})


def test_set_suggests_close_names(teacup_path, tmp_path, capsys):
    with pytest.raises(UnknownVariableError, match=r"no variable named 'Room Temprature'; "
                                                   r"did you mean 'Room Temperature'"):
        edit_model(teacup_path, {"Room Temprature": 3})
    path = tmp_path / "r.xmile"
    path.write_text(RANGED_XMILE)
    with pytest.raises(UnknownVariableError, match="did you mean 'Share'"):
        edit_model(path, {"Shares": 0.1})


def test_set_cli_force(tmp_path, teacup_path, capsys):
    path = tmp_path / "teacup.mdl"
    shutil.copy(teacup_path, path)
    before = path.read_bytes()
    assert main(["set", str(path), "Room Temperature=-500", "--in-place"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "outside the declared range [-459.67, ?]" in err
    assert path.read_bytes() == before
    assert main(["set", str(path), "Room Temperature=-500", "--in-place", "--force"]) == 0
    assert "Room Temperature=\n\t-500\n" in path.read_text()
