"""Analysis of simulation results: quantile bands, peaks, sensitivity indices.

Functions here take results (``xarray`` Datasets, sample tables) and return
numbers; they never run a model themselves, except the one-call
:func:`sdkit.analysis.sensitivity.sensitivity_analysis`, which samples and
runs through :mod:`sdkit.scenarios.sensitivity` and then analyses.
"""
