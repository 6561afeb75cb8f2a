"""The engine's allow-list (:mod:`sdkit.engine.sourcecheck`) on hand-written code.

Code kept in the cache is checked by this allow-list before it is compiled.
Review R1 (findings 1 and 2) found constructs it accepted although codegen
never writes them: a kept record could patch numpy or the engine's shared
runtime for the whole process (``np.sum = np.max``), rebind ``np`` or ``rt``,
define functions inside functions, or hide ``np`` behind an ``if``-``else``
expression; and it refused ``width=``, which codegen writes for PULSE. Each
case is a row here. That the rules refuse none of the code codegen really
writes is checked on every model in ``tests/engine/test_engine_source.py``.
"""

from __future__ import annotations

import pytest

from sdkit.engine.sourcecheck import EngineSourceError, check_engine_source

BASE = "def init(t, dt, N, OV):\n    S = {}\n%s    return S, {}\n"

#: (id, statements inside ``init``, what the refusal says)
REFUSED = [
    ("attribute-store-numpy", "    np.sum = np.max\n", "assignment to the attribute 'sum'"),
    ("attribute-store-nan", "    np.nan = 0.0\n", "assignment to the attribute 'nan'"),
    ("attribute-store-runtime", "    rt.zidz = rt.xidz\n", "assignment to the attribute"),
    ("attribute-store-value", "    v1 = np.ones(3)\n    v1.shape = (3, 1)\n",
     "assignment to the attribute 'shape'"),
    ("rebind-np", "    np = rt\n    v0 = np.sum(v1)\n", "assignment to 'np'"),
    ("rebind-rt", "    rt = np\n    v0 = rt.integer\n", "assignment to 'rt'"),
    ("rebind-len", "    len = _full\n", "assignment to 'len'"),
    ("rebind-helper", "    _full = _mat\n", "assignment to '_full'"),
    ("rebind-constant", "    C3 = v1\n", "assignment to 'C3'"),
    ("item-of-constant", "    C3[0] = 1.0\n", "item of something other than an engine local"),
    ("item-of-call", "    np.ones(3)[0] = 1.0\n", "item of something other"),
    ("alias-np", "    v0 = np\n", "'np' used other than to read one of its functions"),
    ("alias-rt", "    _x = rt\n    v0 = _x.T\n", "'rt' used other than"),
    ("alias-helper", "    v0 = _full\n", "'_full' used other than to call it"),
    ("nested-def", "    def v9(S):\n        return 1\n", "a function inside a function"),
    ("nested-def-any-name", "    def __builtins__(__import__, os):\n        return 1\n",
     "a function inside a function"),
    ("nested-def-decorated", "    @_full\n    def v9(S):\n        return 1\n",
     "a function inside a function"),
    ("ifexp-base", "    v0 = (np if 1 else 0).copy\n", "read from IfExp"),
    ("ifexp-base-rt", "    v0 = (rt if 1 else 0).T\n", "read from IfExp"),
    ("boolop-base", "    v0 = (np or v1).copy\n", "read from BoolOp"),
    ("dict-base", "    v0 = {1: np}[1].copy\n", "read from Dict"),
    ("list-base", "    v0 = [np][0].reshape\n", "read from List"),
    ("attribute-of-attribute", "    v0 = v1.T.copy()\n", "read from Attribute"),
    ("keyword-dtype", "    v0 = np.array([1.0], dtype=None)\n", "keyword argument 'dtype'"),
    ("keyword-other", "    v0 = rt.pulse(t, dt, v1, duration=v2)\n",
     "keyword argument 'duration'"),
]


@pytest.mark.parametrize("body,message", [(b, m) for _, b, m in REFUSED],
                         ids=[i for i, _, _ in REFUSED])
def test_what_codegen_never_writes_is_refused(body, message):
    with pytest.raises(EngineSourceError, match=message.replace("(", r"\(")):
        check_engine_source(BASE % body)


#: statements of the shapes codegen writes (codegen.py's templates, elements.py, program.py)
ACCEPTED = [
    ("node-value", "    v3 = _full(C0, (2,))\n"),
    ("item-of-node", "    v3 = np.full((N,) + (2,), np.nan)\n"
                     "    v3[(slice(None),) + np.ix_([0], [1])] = v4\n"),
    ("state-update", "    _x = S[3]\n    S2 = {}\n    S2[3] = _x + (_chain(v1, _x) - _x) "
                     "* _x.shape[0] / v2 * dt\n"),
    ("delay-n", "    _x, _tm = S[4]\n    _tm = _chain(v2, _tm)\n    _out = _x / _tm\n"),
    ("delay-fixed", "    _p = S[5]\n    _p[0][_p[1]] = v6\n    _p[1] = (_p[1] + 1) % len(_p[0])\n"
                    "    _b = _p[0].copy()\n    _b[_p[1]] = v6\n"),
    ("rates", "    D = {}\n    D[3] = v1\n"),
    ("transpose-of-operator", "    v3 = ((v1) + (v2)).transpose((0, 2, 1))\n"),
    ("transpose-of-unary", "    v3 = (-(v1)).transpose((0, 2, 1))\n"),
    ("reduce", "    v3 = np.sum(v1, axis=(1,))\n"),
    ("pulse", "    v3 = rt.pulse(t, dt, v1, width=v2)\n"),
    ("xmile-pulse", "    v3 = rt.pulse(t, dt, v1, magnitude=v2)\n"),
    ("lookup", "    v3 = rt.lookup(v1, T0_x, T0_y, 'interpolate')\n"),
    ("delay-order", "    _o = _kept_order(2.0, dt, _mat(v1, N), 7)\n"),
]


@pytest.mark.parametrize("body", [b for _, b in ACCEPTED], ids=[i for i, _ in ACCEPTED])
def test_what_codegen_writes_is_accepted(body):
    check_engine_source(BASE % body)


def test_control_sets_its_time_arguments():
    check_engine_source("def control(N, OV):\n    t = None; dt = None\n    v1 = C0\n"
                        "    return {'initial_time': v1}\n")


@pytest.mark.parametrize("text", [
    "def init(t, dt, N, OV):\n    return " + "-" * 100_000 + "1\n",  # MemoryError in the parser
    "def init(t, dt, N, OV):\n    return " + "+".join(["1"] * 20_000) + "\n",  # RecursionError
    "def init(t, dt, N, OV):\n    return 1\x00\n",
    "def init(t, dt, N, OV):\n    return " + "(" * 300 + "1" + ")" * 300 + "\n",
], ids=["unary-100000", "sum-20000", "null-byte", "parentheses-300"])
def test_text_the_parser_cannot_take_is_refused(text):
    with pytest.raises(EngineSourceError, match="not valid Python|not Python the engine"):
        check_engine_source(text)
