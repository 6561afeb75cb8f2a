"""The translation cache is a trust boundary; model text never becomes code.

Regression tests for the routes of issue 12 (byte-order mark, ``__pycache__``
beside the model, ``abstract.pkl`` beside the model, tampered cache entries,
stale data files) and for the structural defences that close them:

* every attack of ``tests/test_safety.py`` still runs nothing when the text
  filter and the abstract-model check are switched off, so nothing depends on
  them;
* a hostile model folder (``.pyc``, ``.pkl``, symlinks, a FIFO, a
  ``modules_*`` folder) contributes nothing to the cache entry;
* a cache entry changed after sdkit wrote it is refused, on every load.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import py_compile
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from test_safety import ATTACKS, Attack, payload

import sdkit
import sdkit.model.load
from sdkit import CacheError, ModelFileError, UnsafeModelError
from sdkit.cli import main
from sdkit.model.cache import cache_root, load_abstract

TEACUP = Path(__file__).parent / "models" / "teacup.mdl"


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(folder))
    return folder


def _bom_attack(marker: Path) -> bytes:
    """The byte-order-mark model of issue 12, with the payload writing `marker`."""
    body = ("{UTF-8 \"}\nG\" ~ x |\nA = WITH LOOKUP(Time, ([" + payload(marker)
            + " or (0,0),(1,1)],(0,0),(1,1))) ~ u\" ~ d |\nFINAL TIME = 1 ~ t ~ |\n"
            "INITIAL TIME = 0 ~ t ~ |\nSAVEPER = 1 ~ t ~ |\nTIME STEP = 1 ~ t ~ |\n")
    return b"\xef\xbb\xbf" + body.encode()


def test_byte_order_mark_does_not_split_the_parsers(cache, tmp_path):
    marker = tmp_path / "PWNED_BOM"
    path = tmp_path / "bom.mdl"
    path.write_bytes(_bom_attack(marker))
    with pytest.raises(sdkit.SdkitError, match=str(path)):
        sdkit.load_model(path)
    assert not marker.exists()
    path.write_bytes(_bom_attack(marker)[3:])  # the parsers now agree: same outcome
    with pytest.raises(sdkit.SdkitError, match=str(path)):
        sdkit.load_model(path)


def test_byte_order_mark_without_the_text_filter(cache, tmp_path, monkeypatch):
    """With the text filter off, PySD's parser evaluates nothing but literals."""
    monkeypatch.setattr("sdkit.model.translate.check_model_text", lambda *a, **k: None)
    marker = tmp_path / "PWNED_BOM"
    path = tmp_path / "bom.mdl"
    path.write_bytes(_bom_attack(marker))
    with pytest.raises(sdkit.SdkitError, match=str(path)):
        sdkit.load_model(path)
    assert not marker.exists()


@pytest.mark.parametrize("attack", [a for a in ATTACKS if "lookup-range" in a.id],
                         ids=lambda a: a.id)
def test_parser_evaluates_only_literals(attack, cache, tmp_path, monkeypatch):
    monkeypatch.setattr("sdkit.model.translate.check_model_text", lambda *a, **k: None)
    marker = tmp_path / "pwned"
    path = tmp_path / "m.mdl"
    path.write_text(attack.build(payload(marker)))
    with pytest.raises(UnsafeModelError, match="PySD's parser would evaluate"):
        sdkit.load_model(path)
    assert not marker.exists()


def test_a_plain_model_with_a_byte_order_mark_loads(cache, tmp_path):
    path = tmp_path / "teacup.mdl"
    path.write_bytes(b"\xef\xbb\xbf" + TEACUP.read_bytes())
    out = sdkit.simulate(sdkit.load_model(path), outputs=["Teacup Temperature"])
    assert out["Teacup Temperature"].iloc[0] == pytest.approx(180.0)


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.id for a in ATTACKS])
def test_attacks_fail_without_the_filters(attack: Attack, cache, tmp_path, monkeypatch):
    """Switch off the text filter and the abstract-model check: still no code runs.

    What stops each attack then is structural: PySD's parser evaluates only
    literals, and the generated module must pass the allow-list.
    """
    monkeypatch.setattr("sdkit.model.translate.check_model_text", lambda *a, **k: None)
    monkeypatch.setattr("sdkit.model.translate.check_abstract_model", lambda *a, **k: None)
    marker = tmp_path / "pwned"
    folder = tmp_path / "model"
    folder.mkdir()
    path = folder / f"m{attack.suffix}"
    path.write_text(attack.build(payload(marker)).replace("MARKER", str(marker)),
                    encoding="utf-8")
    try:
        model = sdkit.load_model(path)
        sdkit.simulate(model, check_finite=False)
    except sdkit.SdkitError as e:
        assert str(path) in str(e)
    assert not marker.exists(), "the model ran code"
    assert sorted(p.name for p in folder.iterdir()) == [path.name]


# -- a hostile model folder -------------------------------------------------------
def _hostile_folder(folder: Path, marker: Path, victim: Path) -> Path:
    """teacup.mdl beside a .pyc, a pickle symlink, a modules_ folder and a FIFO."""
    model = folder / "teacup.mdl"
    model.write_bytes(TEACUP.read_bytes())
    evil = folder / "evil_src.py"
    evil.write_text(f"import os\nos.system('touch {marker}')\n")
    pycache = folder / "__pycache__"
    pycache.mkdir()
    py_compile.compile(str(evil), cfile=str(pycache / "teacup.cpython-311.pyc"),
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    evil.unlink()
    (folder / "abstract.pkl").symlink_to(victim)
    (folder / "modules_teacup").mkdir()
    (folder / "modules_teacup" / "_modules.json").write_text("{}")
    (folder / "modules_teacup" / "view.py").write_text(f"open('{marker}', 'w')\n")
    os.mkfifo(folder / "fifo")
    (folder / "teacup.py").write_text(f"open('{marker}', 'w')\n")
    return model


def test_hostile_folder_contributes_nothing(cache, tmp_path):
    marker = tmp_path / "PWNED"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    folder = tmp_path / "m"
    folder.mkdir()
    model_path = _hostile_folder(folder, marker, victim)
    before = {p.name: p.lstat().st_mtime_ns for p in folder.iterdir()}
    ref = sdkit.simulate(sdkit.load_model(TEACUP), outputs=["Teacup Temperature"])
    for _ in range(2):  # the second load is a cache hit
        model = sdkit.load_model(model_path)
        out = sdkit.simulate(model, outputs=["Teacup Temperature"])
        assert out["Teacup Temperature"].tolist() == ref["Teacup Temperature"].tolist()
        assert sdkit.model_info(model).variables
    assert not marker.exists()
    assert victim.read_text() == "keep me"
    assert {p.name: p.lstat().st_mtime_ns for p in folder.iterdir()} == before
    entry = model.cache_folder
    names = sorted(p.relative_to(entry).as_posix() for p in entry.rglob("*"))
    assert names == ["abstract.pkl", "manifest.json", "teacup.mdl", "teacup.py"]
    assert not any(p.is_symlink() for p in entry.rglob("*"))


def test_no_bytecode_is_written_anywhere(cache, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    path = folder / "teacup.mdl"
    path.write_bytes(TEACUP.read_bytes())
    sdkit.simulate(sdkit.load_model(path), outputs=["Teacup Temperature"])
    assert not list(cache.rglob("__pycache__")) and not list(cache.rglob("*.pyc"))
    assert sorted(p.name for p in folder.iterdir()) == ["teacup.mdl"]


def _plant_bytecode(py: Path, marker: Path) -> Path:
    """A ``__pycache__/*.pyc`` beside `py` that Python would take in its place."""
    evil = py.parent / "evil_src.py"
    evil.write_text(f"open({str(marker)!r}, 'w').close()\n")
    pyc = py.parent / "__pycache__" / f"{py.stem}.{sys.implementation.cache_tag}.pyc"
    py_compile.compile(str(evil), cfile=str(pyc),
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    evil.unlink()
    return pyc


def test_bytecode_planted_after_the_check_is_never_read(cache, tmp_path, monkeypatch):
    """A ``.pyc`` appearing beside the generated module between sdkit's check of the
    entry and PySD's import of it (R1 fix 2) is not read: bytecode is looked up only
    in an empty private folder (``sys.pycache_prefix``)."""
    monkeypatch.setattr(sys, "pycache_prefix", None)
    marker = tmp_path / "PWNED"
    ref = sdkit.simulate(sdkit.load_model(TEACUP), engine="pysd")  # cold: entry written
    py = sdkit.load_model(TEACUP).translation.py_file
    # control: with bytecode writing off alone, Python runs the planted file
    pyc = _plant_bytecode(py, marker)
    spec = importlib.util.spec_from_file_location("teacup_control", py)
    sys.dont_write_bytecode = True
    try:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    finally:
        sys.dont_write_bytecode = False
    assert marker.exists(), "the control did not read the planted bytecode"
    marker.unlink()
    shutil.rmtree(pyc.parent)
    real_verify = sdkit.model.load.verify_translation

    def verify_then_plant(translation, path, *, trusted=False):
        real_verify(translation, path, trusted=trusted)
        _plant_bytecode(translation.py_file, marker)  # the race, won every time

    monkeypatch.setattr(sdkit.model.load, "verify_translation", verify_then_plant)
    out = sdkit.simulate(sdkit.load_model(TEACUP), engine="pysd")  # warm: imports the module
    assert pyc.exists() and not marker.exists()
    assert out["Teacup Temperature"].tolist() == ref["Teacup Temperature"].tolist()
    assert sys.pycache_prefix is None and sys.dont_write_bytecode is False


# -- the cache folder and its entries ------------------------------------------------
def test_cache_root_is_private(cache):
    root = cache_root()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_a_group_writable_umask_still_gives_private_entries(cache):
    """umask 002 (common on shared machines): sdkit must not refuse its own files."""
    old = os.umask(0o002)
    try:
        first = sdkit.simulate(sdkit.load_model(TEACUP), outputs=["Teacup Temperature"])
        again = sdkit.simulate(sdkit.load_model(TEACUP), outputs=["Teacup Temperature"])
    finally:
        os.umask(old)
    assert first.equals(again)
    loose = [p for p in cache.rglob("*") if p.lstat().st_mode & 0o022]
    assert not loose


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o757])
def test_writable_cache_folder_is_refused(cache, mode):
    cache.mkdir()
    cache.chmod(mode)
    with pytest.raises(CacheError, match="group- or world-writable"):
        sdkit.load_model(TEACUP)


def test_cache_folder_owned_by_another_user_is_refused(cache, monkeypatch):
    cache.mkdir(mode=0o700)
    real = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: real + 1)
    with pytest.raises(CacheError, match="owned by another user"):
        sdkit.load_model(TEACUP)


# -- the folders above the cache (OpenSSH's StrictModes rule) ---------------------------
def _one_line_refusal(capsys, folder: Path) -> str:
    """``sdkit info`` refuses the cache with one line naming `folder`; returns the line."""
    assert main(["info", str(TEACUP)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sdkit: error: "), err
    assert f"lies under {folder}," in err and "SDKIT_CACHE_DIR" in err
    return err


@pytest.mark.parametrize("mode", [0o770, 0o777, 0o707])
def test_cache_under_a_writable_folder_is_refused(tmp_path, monkeypatch, capsys, mode):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(mode)
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(shared / "a" / "cache"))
    with pytest.raises(CacheError, match=f"lies under {shared}, .* without the sticky bit"):
        sdkit.load_model(TEACUP)
    assert "without the sticky bit" in _one_line_refusal(capsys, shared)


def test_cache_under_a_sticky_writable_folder_is_accepted(tmp_path, monkeypatch):
    public = tmp_path / "public"  # like /tmp
    public.mkdir()
    public.chmod(0o1777)
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(public / "cache"))
    assert sdkit.load_model(TEACUP).cache_folder.parent == public / "cache"
    assert stat.S_IMODE(Path("/tmp").stat().st_mode) == 0o1777  # the suite's own setup


def test_cache_under_another_users_folder_is_refused(tmp_path, monkeypatch, capsys):
    other = tmp_path / "other"
    other.mkdir(mode=0o755)
    if os.geteuid() == 0:  # CI and this machine run as root: give the folder to nobody
        os.chown(other, 65534, -1)
        uid = 65534
    else:  # the folder is ours: pretend to be someone else (nothing above is then ours)
        uid = os.geteuid()
        monkeypatch.setattr(os, "geteuid", lambda: uid + 1)
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(other / "cache"))
    with pytest.raises(CacheError, match=f"lies under {other}, .*owned by another user "
                                         f"\\(uid {uid}\\)"):
        sdkit.load_model(TEACUP)
    _one_line_refusal(capsys, other)


def test_a_link_in_a_writable_folder_is_refused(tmp_path, monkeypatch):
    """A link in a folder others may write can be pointed elsewhere, even at a safe folder."""
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    (shared / "cache").symlink_to(mine)
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(shared / "cache"))
    with pytest.raises(CacheError, match=f"lies under {shared}, "):
        cache_root()


def test_the_resolved_root_is_used_for_every_access(tmp_path, monkeypatch):
    real = tmp_path / "real"
    (tmp_path / "link").symlink_to(real)
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(tmp_path / "link"))
    assert cache_root() == real.resolve()
    model = sdkit.load_model(TEACUP)
    assert model.cache_folder.parent == real.resolve()
    assert model.translation.py_file.parent.parent == real.resolve()


def test_missing_folders_above_are_made_private(tmp_path, monkeypatch):
    """A group-writable umask must not create folders the ancestor rule then refuses."""
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(tmp_path / "home" / ".cache" / "sdkit"))
    old = os.umask(0o002)
    try:
        root = cache_root()
    finally:
        os.umask(old)
    for folder in (root, root.parent, root.parent.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


FLIPPER = """
import ctypes, os, sys, time
real, swap = (os.fsencode(a) for a in sys.argv[1:3])
renameat2 = ctypes.CDLL(None, use_errno=True).renameat2  # Linux: an atomic exchange
while True:  # real is the user's folder for 4 ms, then a link to the edited copy for 1.5 ms
    for pause in (0.004, 0.0015):
        time.sleep(pause)
        if renameat2(-100, real, -100, swap, 2) != 0:  # AT_FDCWD, RENAME_EXCHANGE
            sys.exit(os.strerror(ctypes.get_errno()))
"""


def test_swapping_the_cache_under_a_writable_parent_runs_nothing(tmp_path, monkeypatch):
    """The reviewer's race (R1 a07): whoever can write the folder above the cache swaps
    the cache for an edited copy between sdkit's checks and PySD's import. Without the
    ancestor rule the edited module ran within about 20 attempts; now every load is
    refused before anything is read."""
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    real, evil = shared / "real", shared / "evil"
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(real))
    sdkit.load_model(TEACUP)  # the real entry, made while the parent was still safe
    shutil.copytree(real, evil)
    marker = tmp_path / "PWNED"
    for py in evil.glob("*/*.py"):
        py.write_text(f"open({str(marker)!r}, 'w').close()\n" + py.read_text())
    (shared / "swap").symlink_to(evil)
    shared.chmod(0o777)  # the misconfigured parent
    flipper = subprocess.Popen([sys.executable, "-c", FLIPPER, str(real), str(shared / "swap")])
    refused = 0
    try:
        for _ in range(60):
            try:
                sdkit.simulate(sdkit.load_model(TEACUP), engine="pysd")
            except CacheError as e:
                assert f"lies under {shared}, " in str(e)
                refused += 1
        assert flipper.poll() is None, "the flipper stopped: no race was run"
    finally:
        flipper.kill()
        flipper.wait()
    assert not marker.exists(), "the edited module ran"
    assert refused == 60
    assert refused == 60 and not marker.exists()


@pytest.mark.parametrize("layout", ["file", "under-a-file"])
def test_cache_path_that_is_a_file(tmp_path, monkeypatch, layout):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    folder = blocker if layout == "file" else blocker / "cache"
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(folder))
    with pytest.raises(CacheError, match=str(folder)):
        sdkit.load_model(TEACUP)
    assert blocker.read_text() == "x"


def _entry(cache_folder_parent: Path) -> Path:
    model = sdkit.load_model(TEACUP)
    return model.cache_folder


@pytest.mark.parametrize("tamper", [
    "append-code", "pycache", "pickle-payload", "extra-file", "symlink", "delete", "chmod",
])
def test_tampered_entry_is_refused_on_every_load(cache, tmp_path, tamper):
    marker = tmp_path / "PWNED"
    entry = _entry(cache)
    py = entry / "teacup.py"
    if tamper == "append-code":
        py.write_text(py.read_text() + f"\nopen('{marker}', 'w')\n")
    elif tamper == "pycache":
        (entry / "__pycache__").mkdir()
        (entry / "__pycache__" / "teacup.cpython-311.pyc").write_bytes(b"junk")
    elif tamper == "pickle-payload":
        class Boom:
            def __reduce__(self):
                return (os.system, (f"touch {marker}",))
        (entry / "abstract.pkl").write_bytes(pickle.dumps(Boom()))
    elif tamper == "extra-file":
        (entry / "sitecustomize.py").write_text(f"open('{marker}', 'w')\n")
    elif tamper == "symlink":
        (entry / "link").symlink_to(tmp_path)
    elif tamper == "delete":
        (entry / "abstract.pkl").unlink()
    elif tamper == "chmod":
        py.chmod(0o666)
    for _ in range(2):
        with pytest.raises(CacheError, match=str(entry)):
            sdkit.load_model(TEACUP)
    assert not marker.exists()


def test_a_swapped_pickle_never_unpickles_code(cache, tmp_path):
    marker = tmp_path / "PWNED"

    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    bad = tmp_path / "abstract.pkl"
    bad.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(CacheError, match="not an abstract model"):
        load_abstract(bad)
    assert not marker.exists()


def test_abstract_model_round_trips(cache):
    model = sdkit.load_model(TEACUP)
    abstract = model.abstract
    names = {el.name for s in abstract.sections for el in s.elements}
    assert "Teacup Temperature" in names


# -- external inputs ---------------------------------------------------------------------
DATA_MODEL = """{UTF-8}
direct constants := GET DIRECT CONSTANTS('data.csv', ',', 'B1') ~ Dmnl ~ |
Stock = INTEG(direct constants, 0) ~ Dmnl ~ |
INITIAL TIME = 0 ~ Month ~ |
FINAL TIME = 2 ~ Month ~ |
TIME STEP = 1 ~ Month ~ |
SAVEPER = TIME STEP ~ Month ~ |
"""


def test_declared_input_missing_then_added(cache, tmp_path):
    path = tmp_path / "m.mdl"
    path.write_text(DATA_MODEL)
    with pytest.raises(ModelFileError, match="'data.csv'"):
        sdkit.load_model(path)
    (tmp_path / "data.csv").write_text("x,3\n")
    out = sdkit.simulate(sdkit.load_model(path), outputs=["direct constants"])
    assert out["direct constants"].iloc[0] == 3


def test_declared_input_edited_is_read_again(cache, tmp_path):
    path = tmp_path / "m.mdl"
    path.write_text(DATA_MODEL)
    data = tmp_path / "data.csv"
    data.write_text("x,3\n")
    first = sdkit.load_model(path)
    assert sdkit.simulate(first, outputs=["direct constants"])["direct constants"].iloc[0] == 3
    data.write_text("x,5\n")
    second = sdkit.load_model(path)
    assert second.cache_folder != first.cache_folder
    assert sdkit.simulate(second, outputs=["direct constants"])["direct constants"].iloc[0] == 5


def test_inputs_are_copied_not_linked(cache, tmp_path):
    path = tmp_path / "m.mdl"
    path.write_text(DATA_MODEL)
    (tmp_path / "data.csv").write_text("x,3\n")
    (tmp_path / "unrelated.xlsx").write_text("not read")
    entry = sdkit.load_model(path).cache_folder
    files = sorted(p.relative_to(entry).as_posix() for p in entry.rglob("*") if p.is_file())
    assert files == ["_inputs/0_data.csv", "abstract.pkl", "m.mdl", "m.py", "manifest.json"]
    assert not any(p.is_symlink() for p in entry.rglob("*"))


def test_trusted_skips_only_the_code_check(cache, tmp_path, monkeypatch):
    """``trusted=True`` loads a model the allow-list would refuse (simulated here)."""
    from sdkit.model import codecheck

    monkeypatch.setattr(codecheck, "ALLOWED_ATTRS", codecheck.ALLOWED_ATTRS - {"DataArray",
                                                                              "joinpath",
                                                                              "parent"})
    with pytest.raises(UnsafeModelError, match="attribute"):
        sdkit.load_model(TEACUP)
    model = sdkit.load_model(TEACUP, trusted=True)
    assert "Teacup Temperature" in model.names
