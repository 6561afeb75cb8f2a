"""``sdkit calibrate`` and the files it writes."""

from __future__ import annotations

import json

import pytest
from test_calibration_problem import SPEC, spec_file

from sdkit import OutputError, calibrate, read_cin
from sdkit.cli import main
from sdkit.io.calibration_record import read_calibration_record
from sdkit.report.calibration import fit_figures, fit_report
from sdkit.workflow.calibration import write_outputs


@pytest.fixture()
def spec(tmp_path):
    return spec_file(tmp_path, SPEC.replace("profile = true", "profile = false"))


def test_cli_writes_cin_json_report_and_plots(spec, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["calibrate", str(spec), "--seed", "3", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "g[Yichang]" in printed and "wrote" in printed
    record = json.loads((out / "calibration.json").read_text(encoding="utf-8"))
    assert record["seed"] == 3 and record["method"] == "multistart"
    assert len(record["model_sha256"]) == 64 and len(record["data_sha256"]) == 64
    assert record["scipy_version"]
    # synthetic data grow 5 %/yr: Euler with dt 0.25 needs 4 (1.05^0.25 - 1)
    expected = 4 * (1.05 ** 0.25 - 1)
    for city in ("Yichang", "Jingzhou", "Jingmen"):
        assert record["parameters"][f"g[{city}]"]["value"] == pytest.approx(expected, rel=1e-5)
    cin = read_cin(out / "fitted.cin")
    assert cin["Growth Rate[Yichang]"] == pytest.approx(expected, rel=1e-5)
    cities = ("Yichang", "Jingzhou", "Jingmen", "Enshi")
    # the spec's [fixed] constants travel with the fitted values (the fit assumed them)
    assert record["fixed"] and {k: cin[k] for k in record["fixed"]} == record["fixed"]
    assert set(cin) == {f"Growth Rate[{c}]" for c in cities} | {
        f"Initial Output[{c}]" for c in cities} | set(record["fixed"])
    assert cin["Initial Output[Jingmen]"] == pytest.approx(300.0, rel=1e-5)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| Output [Enshi] | holdout | 3 |" in report
    assert "## In sample and hold-out" in report and "| Output [Enshi] | 0.00 | 0.00 |" in report
    assert "## Notes\n\nSynthetic data grow 5 %/yr." in report
    assert "![Output[Yichang]](plots/output_yichang.png)" in report
    png = (out / "plots" / "output_yichang.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_cli_refuses_to_overwrite(spec, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["calibrate", str(spec), "--out", str(out), "--no-plots"]) == 0
    assert main(["calibrate", str(spec), "--out", str(out), "--no-plots"]) == 2
    assert "exists; refusing to overwrite" in capsys.readouterr().err
    assert main(["calibrate", str(spec), "--out", str(out), "--no-plots",
                 "--overwrite"]) == 0


def test_cli_bad_spec_is_one_line(tmp_path, capsys):
    bad = spec_file(tmp_path, SPEC.replace("upper = 0.3", "upper = -1.0"))
    assert main(["calibrate", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "parameters[0]: lower (0.0) must be < upper (-1.0)" in err[0]


def test_write_outputs_refuses_existing(spec, tmp_path):
    result = calibrate(spec, method="least_squares", progress=False, profile=False)
    write_outputs(result, tmp_path / "o", plots=False)
    with pytest.raises(OutputError):
        write_outputs(result, tmp_path / "o", plots=False)


def test_report_renders_from_the_stored_record_alone(spec, tmp_path):
    """The report is a function of the record: re-rendered from calibration.json it is the same."""
    import matplotlib

    backend = matplotlib.get_backend()
    result = calibrate(spec, method="least_squares", progress=False, profile=False)
    record = result.to_record()
    json.dumps(record, allow_nan=False)  # plain JSON data, no NaN
    paths = write_outputs(result, tmp_path / "o")
    stored = read_calibration_record(paths["json"])
    links = {t.name: f"plots/{t.name.lower().replace('[', '_').rstrip(']')}.png"
             for t in result.problem.targets}
    assert fit_report(stored, links) == paths["report"].read_text(encoding="utf-8")
    assert fit_report(record) == fit_report(stored)
    target = record["targets"][0]
    assert target["source"] == "synthetic test data" and target["unit"] == "Widgets"
    assert len(target["trajectory"]) == len(record["trajectory_time"]) > 10
    figures = fit_figures(stored)
    assert set(figures) == {t.name for t in result.problem.targets}
    axes = figures["Output[Yichang]"].axes[0]
    assert [line.get_label() for line in axes.lines][:3] == [
        "simulated", "observed (fit)", "observed (holdout)"]
    assert matplotlib.get_backend() == backend  # no global backend switch
