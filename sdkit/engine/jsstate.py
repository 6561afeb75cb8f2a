"""JavaScript for the stateful functions (INTEG, SMOOTH, DELAY, ...) of a program.

Each kind mirrors the Python templates of :mod:`.codegen` (``_INIT``,
``_VALUE`` in :mod:`.program`, ``_UPDATE``) element by element, with the
same order of floating-point operations. A state of order ``o`` over ``m``
elements is a ``Float64Array(o * m)``, stage-major, updated in place from
the last stage to the first (so each stage reads its neighbour's old value,
as the Python code's fresh arrays do).
"""

from __future__ import annotations

from sdkit.engine.expressions import Unsupported

__all__ = ["init_state", "value_state", "update_state", "rate_state", "check_rk",
           "capture_discrete", "apply_discrete", "CONTINUOUS"]


def _ref(w, node: str, j: str = "j") -> str:
    return w.js(node) if w.size(node) == 1 else f"{w.js(node)}[{j}]"


def _args(w, st) -> dict[str, str]:
    return {role: _ref(w, v) for role, v in st.args.items()}


def _loop(m: int, body: list[str]) -> list[str]:
    return [f"for (let j = 0; j < {m}; j++) {{", *["  " + b for b in body], "}"]


def _order_code(w, st) -> str:
    if st.order is None:
        return "1"
    if st.order.startswith("_order("):
        arg = w.js(st.args["order"])
        return f"R.uniform({arg}, 6)"
    return st.order


def init_state(w, n: str, st) -> list[str]:
    """Statements setting the state of stateful node `n` in the initialisation pass."""
    k, m = w.key[n], w.size(n)
    a = _args(w, st)
    S, O = f"S{k}", f"O{k}"  # noqa: E741 - the JS names
    fill = f"for (let s = 0; s < {O}; s++) {S}[s * {m} + j] = "
    if st.kind in ("integ", "initial", "sample"):
        return [f"{O} = 1;", f"{S} = new Float64Array({m});",
                *_loop(m, [f"{S}[j] = {a['init']};"])]
    if st.kind == "smooth":
        return [f"{O} = Math.trunc({_order_code(w, st)});",
                f"{S} = new Float64Array({O} * {m});", *_loop(m, [fill + f"{a['init']};"])]
    if st.kind in ("delay", "delayn"):
        order = (f"Math.trunc({_order_code(w, st)})" if st.kind == "delay"  # Vensim's DELAY3
                 else f"R.delayOrder({_order_code(w, st)}, dt, {w.js(st.args['time'])})")
        lines = [f"{O} = {order};",
                 f"if (!({O} >= 1)) R.fail(7);",
                 f"{S} = new Float64Array({O} * {m});",
                 *_loop(m, [fill + f"{a['init']} * {a['time']};"])]
        if st.kind == "delayn":
            lines += [f"U{k} = new Float64Array({O} * {m});",
                      *_loop(m, [f"for (let s = 0; s < {O}; s++) U{k}[s * {m} + j] = "
                                 f"{a['time']};"])]
        return lines
    if st.kind == "delayfixed":
        return [f"{O} = R.fixedOrder({w.js(st.args['time'])}, dt);", f"Q{k} = 0;",
                f"{S} = new Float64Array({O} * {m});", *_loop(m, [fill + f"{a['init']};"])]
    if st.kind == "trend":
        return [f"{S} = new Float64Array({m});",
                *_loop(m, [f"{S}[j] = {a['input']} / (1 + {a['init']} * {a['time']});"])]
    if st.kind == "forecast":
        return [f"{S} = new Float64Array({m});",
                *_loop(m, [f"{S}[j] = {a['input']} / (1 + {a['init']});"])]
    raise Unsupported(f"stateful {st.kind!r} in the explorer")


def _value_expr(w, n: str, st) -> str:
    k, m = w.key[n], w.size(n)
    a = _args(w, st)
    S = f"S{k}"
    last = f"{S}[(O{k} - 1) * {m} + j]"
    return {
        "integ": f"{S}[j]", "initial": f"{S}[j]", "smooth": last,
        "delay": f"{last} / {a.get('time')}",
        "delayn": f"{last} / U{k}[j]",
        "delayfixed": f"{S}[Q{k} * {m} + j]",
        "trend": f"R.zidz({a.get('input')} - {S}[j], {a.get('time')} * Math.abs({S}[j]))",
        "forecast": f"{a.get('input')} * (1 + R.zidz({a.get('input')} - {S}[j], "
                    f"{a.get('time')} * {S}[j]) * {a.get('horizon')})",
        "sample": f"(({a.get('cond')} !== 0) ? {a.get('input')} : {S}[j])",
    }[st.kind]


def value_state(w, n: str, st) -> list[str]:
    """Statements computing the value of stateful node `n` from its state."""
    m = w.size(n)
    expr = _value_expr(w, n, st)
    if m == 1:
        return ["{ const j = 0; " + f"{w.js(n)} = +{expr}; }}"]
    return _loop(m, [f"{w.js(n)}[j] = +{expr};"])


def update_state(w, n: str, st) -> list[str]:
    """Statements taking the state of `n` one Euler step on (in place)."""
    k, m = w.key[n], w.size(n)
    a = _args(w, st)
    S, O = f"S{k}", f"O{k}"  # noqa: E741 - the JS names
    cell, prev = f"{S}[s * {m} + j]", f"{S}[(s - 1) * {m} + j]"
    down = f"for (let s = {O} - 1; s >= 0; s--) "
    if st.kind == "integ":
        new = f"{S}[j] + {a['flow']} * dt"
        if st.non_negative:
            new = f"Math.max({new}, 0)"
        return _loop(m, [f"{S}[j] = {new};"])
    if st.kind in ("initial",):
        return []
    if st.kind == "smooth":
        return _loop(m, [down + "{", f"  const x = {cell};",
                         f"  const c = s === 0 ? {a['input']} : {prev};",
                         f"  {cell} = x + (c - x) * {O} / {a['time']} * dt;", "}"])
    if st.kind == "delay":
        return _loop(m, [down + "{", f"  const x = {cell};", f"  const o = x / {a['time']};",
                         f"  const c = s === 0 ? {a['input']} : {prev} / {a['time']};",
                         f"  {cell} = x + (c - o) * {O} * dt;", "}"])
    if st.kind == "delayn":
        tm, tprev = f"U{k}[s * {m} + j]", f"U{k}[(s - 1) * {m} + j]"
        return _loop(m, [down + f"{tm} = s === 0 ? {a['time']} : {tprev};",
                         down + "{", f"  const x = {cell};", f"  const o = x / {tm};",
                         f"  const c = s === 0 ? {a['input']} : {prev} / {tprev};",
                         f"  {cell} = x + (c - o) * {O} * dt;", "}"])
    if st.kind == "delayfixed":
        return [*_loop(m, [f"{S}[Q{k} * {m} + j] = {a['input']};"]),
                f"Q{k} = (Q{k} + 1) % {O};"]
    if st.kind in ("trend", "forecast"):
        return _loop(m, [f"{S}[j] = {S}[j] + ({a['input']} - {S}[j]) / {a['time']} * dt;"])
    if st.kind == "sample":
        return _loop(m, [f"{S}[j] = {S}[j] * 0 + (({a['cond']} !== 0) ? {a['input']} : "
                         f"{S}[j]);"])
    raise Unsupported(f"stateful {st.kind!r} in the explorer")


#: states whose rate of change a Runge-Kutta method integrates
CONTINUOUS = ("integ", "smooth", "delay", "trend", "forecast")
_RK_REFUSED = {"sample": "SAMPLE IF TRUE (its value jumps within a step)",
               "delayn": "DELAY N (its delay times shift once per TIME STEP)"}


def check_rk(n: str, st, method: str) -> None:
    """Refuse, as :mod:`.codegen` does, what a Runge-Kutta method cannot honour."""
    why = _RK_REFUSED.get(st.kind)
    if st.non_negative:
        why = "a non-negative stock (its clamping is defined for Euler steps)"
    if why is None and st.kind not in CONTINUOUS and st.kind != "delayfixed":
        why = st.kind
    if why is not None:
        raise Unsupported(f"{method.upper()} with {why} in {n!r}")


def rate_state(w, n: str, st, d: str) -> list[str]:
    """Statements writing the rate of change of continuous state `n` into array `d`."""
    k, m = w.key[n], w.size(n)
    a = _args(w, st)
    S, O = f"S{k}", f"O{k}"  # noqa: E741 - the JS names
    cell, prev = f"{S}[s * {m} + j]", f"{S}[(s - 1) * {m} + j]"
    each = f"for (let s = 0; s < {O}; s++) "
    if st.kind == "integ":
        return _loop(m, [f"{d}[j] = {a['flow']};"])
    if st.kind == "smooth":
        return _loop(m, [each + f"{d}[s * {m} + j] = ((s === 0 ? {a['input']} : {prev}) - "
                                f"{cell}) * {O} / {a['time']};"])
    if st.kind == "delay":
        return _loop(m, [each + f"{d}[s * {m} + j] = ((s === 0 ? {a['input']} : {prev} / "
                                f"{a['time']}) - {cell} / {a['time']}) * {O};"])
    return _loop(m, [f"{d}[j] = ({a['input']} - {S}[j]) / {a['time']};"])  # trend, forecast


def capture_discrete(w, n: str, st) -> list[str]:
    """DELAY FIXED under Runge-Kutta: keep the input at the start of the step."""
    k = w.key[n]
    return _loop(w.size(n), [f"W{k}[j] = {_args(w, st)['input']};"])


def apply_discrete(w, n: str, st) -> list[str]:
    """DELAY FIXED under Runge-Kutta: take in the kept input once the step is done."""
    k, m = w.key[n], w.size(n)
    return [*_loop(m, [f"S{k}[Q{k} * {m} + j] = W{k}[j];"]), f"Q{k} = (Q{k} + 1) % O{k};"]
