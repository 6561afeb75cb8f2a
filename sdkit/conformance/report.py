"""The outcome of a conformance run: per case and engine, and how the engines agree.

:class:`ConformanceReport` holds one :class:`CaseResult` per case and engine
run (``"sdkit"``: the compiled engine, PySD where it cannot compile the model;
``"pysd"``: PySD behind sdkit's reading of the model) and, when both ran, one
:class:`Agreement` per case: are the two runs equal within a relative 1e-9?
:meth:`ConformanceReport.summary` is the printed report, :meth:`~ConformanceReport.to_json`
the full record.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field

from sdkit.conformance.cases import ENGINE_RTOL

__all__ = ["CaseResult", "Agreement", "ConformanceReport", "STATUSES", "AGREEMENTS"]

STATUSES = ("match", "mismatch", "translate_error", "run_error", "timeout", "unsupported")
#: how the two engines' runs of a case compare
AGREEMENTS = ("equal", "known departure", "differ", "not compared")
FORMATS = ("vensim", "xmile")



def engines_of(engine: str) -> tuple[str, ...]:
    """The engines a run of `engine` uses: ``("sdkit", "pysd")`` for ``"both"``."""
    return ("sdkit", "pysd") if engine == "both" else (engine,)

@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case on one engine.

    `engine` is the engine asked for, `engine_used` the one that ran
    (``"fast"`` or ``"pysd"``: the sdkit engine runs PySD where it cannot
    compile the model); `notes` are sdkit's warnings during the run.
    `worst_error` is the largest excess over the suite's tolerance (0 for a
    match); `worst_abs_difference` and `worst_rel_difference` say how close
    the run came to the canonical output (NaN: not compared; see
    :func:`~sdkit.conformance.cases.compare_outputs`).
    """

    name: str
    format: str
    status: str
    detail: str = ""
    worst_column: str = ""
    worst_error: float = 0.0
    n_columns: int = 0
    seconds: float = 0.0
    engine_used: str = ""
    engine: str = "pysd"
    notes: tuple[str, ...] = ()
    worst_abs_difference: float = float("nan")
    worst_rel_difference: float = float("nan")


@dataclass(frozen=True)
class Agreement:
    """How the sdkit and PySD runs of one case compare.

    `status` is ``"equal"`` (every value within a relative 1e-9),
    ``"known departure"`` (they differ where sdkit departs from PySD on
    purpose, named in `detail`), ``"differ"`` or ``"not compared"`` (one
    of them did not run, or the sdkit engine ran PySD itself).
    """

    name: str
    format: str
    status: str
    worst_column: str = ""
    worst_difference: float = 0.0
    detail: str = ""


@dataclass(frozen=True)
class ConformanceReport:
    """All case results of a run; :meth:`summary` gives the printed report.

    `engine` is ``"sdkit"``, ``"pysd"`` or ``"both"``.
    """

    suite: str
    engine: str
    results: tuple[CaseResult, ...] = field(default_factory=tuple)
    agreement: tuple[Agreement, ...] = field(default_factory=tuple)

    @property
    def engines(self) -> tuple[str, ...]:
        """The engines run, ``("sdkit", "pysd")`` for ``"both"``."""
        return engines_of(self.engine)

    def of(self, engine: str | None = None) -> list[CaseResult]:
        """The results of one engine (default: the first run)."""
        engine = engine or self.engines[0]
        return [r for r in self.results if r.engine == engine]

    def counts(self, engine: str | None = None) -> dict[str, tuple[int, int]]:
        """``{format: (matched, with_canonical_output)}`` for one engine (default: the first)."""
        out = {}
        for fmt in FORMATS:
            rs = [r for r in self.of(engine) if r.format == fmt]
            out[fmt] = (sum(r.status == "match" for r in rs), len(rs))
        return out

    def by_name(self, engine: str | None = None) -> dict[str, CaseResult]:
        """Results of one engine (default: the first) keyed by case name."""
        return {r.name: r for r in self.of(engine)}

    def tally(self, engine: str | None = None) -> str:
        """``vensim: 95/97 match; xmile: 66/95 match``."""
        c = self.counts(engine)
        return "; ".join(f"{fmt}: {c[fmt][0]}/{c[fmt][1]} match" for fmt in FORMATS)

    def summary(self) -> str:
        """Counts per engine and format, failures, disagreements; the last lines are the tally."""
        if len(self.engines) == 1:
            return self._summary_one()
        lines = [f"suite: {self.suite} (engines: {', '.join(self.engines)})"]
        for engine in self.engines:
            lines.append(f"{engine}: {_statuses(self.of(engine))}")
        fallbacks = [r for r in self.of("sdkit") if r.engine_used == "pysd"]
        if fallbacks:
            lines.append(f"sdkit ran PySD where its engine cannot compile the model: "
                         f"{len(fallbacks)}")
        results = {e: self.by_name(e) for e in self.engines}
        failing = sorted({r.name for r in self.results if r.status != "match"})
        if failing:
            lines += ["", f"not matching on an engine ({len(failing)}):"]
            for name in failing:
                both = ", ".join(f"{e} {results[e][name].status}" for e in self.engines
                                 if name in results[e])
                first = next(results[e][name] for e in self.engines
                             if name in results[e] and results[e][name].status != "match")
                lines.append(f"  {name}: {both}: {_why(first)}".rstrip())
        lines += ["", *self._agreement_lines(), ""]
        lines += [f"{e}: {self.tally(e)}" for e in self.engines]
        return "\n".join(lines)

    def _agreement_lines(self) -> list[str]:
        n = Counter(a.status for a in self.agreement)
        compared = len(self.agreement) - n["not compared"]
        lines = [f"sdkit vs pysd within {_rtol()} (relative) on {compared} models both "
                 f"ran: equal {n['equal']}, known departure {n['known departure']}, "
                 f"differ {n['differ']}; not compared {n['not compared']}"]
        for a in sorted(self.agreement, key=lambda a: a.name):
            if a.status in ("known departure", "differ"):
                lines.append(f"  {a.status}: {a.name}: {a.worst_column!r} relative difference "
                             f"{a.worst_difference:.3g}{'; ' + a.detail if a.detail else ''}")
        return lines

    def _summary_one(self) -> str:
        results = self.of()
        lines = [f"suite: {self.suite} (engine: {self.engine})"]
        for fmt in FORMATS:
            tally = Counter(r.status for r in results if r.format == fmt)
            if tally:
                parts = ", ".join(f"{k} {tally[k]}" for k in STATUSES if tally[k])
                lines.append(f"{fmt}: {parts}")
        fallbacks = [r for r in results if self.engine == "sdkit" and r.engine_used == "pysd"]
        if fallbacks:
            lines.append(f"ran PySD where the engine cannot compile the model: {len(fallbacks)}")
        for status in STATUSES[1:]:
            failed = [r for r in results if r.status == status]
            if not failed:
                continue
            lines += ["", f"{status} ({len(failed)}):"]
            for r in sorted(failed, key=lambda r: r.name):
                lines.append(f"  {r.name}: {_why(r)}".rstrip())
        lines += ["", self.tally()]
        return "\n".join(lines)

    def to_json(self) -> str:
        """The report as JSON: suite, engines, counts per engine, results, agreement."""
        return json.dumps({
            "suite": self.suite, "engine": self.engine, "engines": list(self.engines),
            "counts": {e: {k: {"match": m, "total": n} for k, (m, n) in self.counts(e).items()}
                       for e in self.engines},
            "results": [asdict(r) for r in self.results],
            "agreement": [asdict(a) for a in self.agreement],
        }, indent=2)


def _rtol() -> str:
    return f"{ENGINE_RTOL:g}".replace("e-0", "e-")  # 1e-9, not 1e-09


def _statuses(results: list[CaseResult]) -> str:
    out = []
    for fmt in FORMATS:
        tally = Counter(r.status for r in results if r.format == fmt)
        if tally:
            out.append(f"{fmt}: " + ", ".join(f"{k} {tally[k]}" for k in STATUSES if tally[k]))
    return "; ".join(out)


def _why(r: CaseResult) -> str:
    if r.status == "mismatch":
        return f"worst column {r.worst_column!r} (error {r.worst_error:.3g}) {r.detail}"
    return r.detail
