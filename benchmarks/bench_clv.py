"""Customer-value fits: BG/NBD and Pareto/NBD on CDNOW and on 1,000,000 simulated customers, against
``lifetimes`` 0.11.3 fitting the same data in the same run.

``lifetimes`` (a test dependency that ships the CDNOW data) runs unpatched on our numpy 2 / scipy /
pandas 3. Its Pareto/NBD fitter (Nelder-Mead over a hypergeometric likelihood, no gradient) would take many
minutes on 1,000,000 rows, so for the synthetic sample it is given the same collapsed rows with weights (its
own ``weights=`` argument, i.e. its fastest way to fit those 1,000,000 customers); its BG/NBD fitter is
timed both on the raw 1,000,000 rows and on the weighted rows. Weixi's times include the collapse.
"""

from __future__ import annotations

import csv
import importlib.util
import time
import warnings
from pathlib import Path

import numpy as np

from weixi.clv import bgnbd, paretonbd, simulate
from weixi.clv.rfm import summarise

CDNOW_BGNBD = (0.243, 4.414, 0.793, 2.426)  # the generative parameters of the synthetic sample


def _cdnow() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or spec.origin is None:
        raise RuntimeError("the clv benchmark needs lifetimes==0.11.3 (test extra): run make install")
    with open(Path(spec.origin).parent / "datasets" / "cdnow_customers_summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return tuple(np.array([float(r[k]) for r in rows]) for k in ("frequency", "recency", "T"))


def _timed(fn, repeat: int = 1):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best


def _ours(model, x, t_x, T):
    return model.fit(summarise(x, t_x, T))


def _lifetimes(name: str, x, t_x, T, weights=None):
    from lifetimes import BetaGeoFitter, ParetoNBDFitter

    fitter = {"bgnbd": BetaGeoFitter, "paretonbd": ParetoNBDFitter}[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter.fit(x, t_x, T, weights=None if weights is None else weights.astype(np.int64))
    return {k: float(v) for k, v in fitter.params_.items()}


def _compare(out: dict, prefix: str, name: str, ours_fit, ours_s: float, theirs: dict, theirs_s: float) -> None:
    out[f"{prefix}_{name}_seconds"] = round(ours_s, 3)
    out[f"{prefix}_{name}_lifetimes_seconds"] = round(theirs_s, 3)
    out[f"{prefix}_{name}_ratio_to_lifetimes"] = round(ours_s / theirs_s, 3)
    ours = np.array(list(ours_fit.params.values()))
    out[f"{prefix}_{name}_params"] = [round(float(v), 4) for v in ours]
    out[f"{prefix}_{name}_max_rel_diff_to_lifetimes"] = float(
        f"{np.max(np.abs(ours / np.array(list(theirs.values())) - 1)):.2e}"
    )


def run(workdir: Path, customers: int = 1_000_000, seed: int = 1) -> dict:
    out: dict = {"customers": customers}
    # CDNOW, 2,357 customers
    x, t_x, T = _cdnow()
    for name, model in (("bgnbd", bgnbd), ("paretonbd", paretonbd)):
        fit, ours_s = _timed(lambda model=model: _ours(model, x, t_x, T), repeat=3)
        theirs, theirs_s = _timed(lambda name=name: _lifetimes(name, x, t_x, T))
        _compare(out, "cdnow", name, fit, ours_s, theirs, theirs_s)
        out[f"cdnow_{name}_log_likelihood"] = round(fit.log_likelihood, 2)
    # customers drawn from the BG/NBD process with the CDNOW estimates: 39 weeks, first purchases over 12 weeks,
    # purchase times in whole days
    rng = np.random.default_rng(seed)
    (x, t_x, T), out["draw_seconds"] = _timed(
        lambda: (lambda T: (*simulate.bgnbd(rng, CDNOW_BGNBD, T), T))(simulate.ages(rng, customers, 39, 12))
    )
    data, out["collapse_seconds"] = _timed(lambda: summarise(x, t_x, T))
    out["unique_rows"] = data.rows
    for name, model in (("bgnbd", bgnbd), ("paretonbd", paretonbd)):
        fit, fit_s = _timed(lambda model=model: model.fit(data))
        out[f"synthetic_{name}_fit_seconds"] = round(fit_s, 3)
        theirs, theirs_s = _timed(lambda name=name: _lifetimes(name, data.x, data.t_x, data.T, data.weights))
        _compare(out, "synthetic_weighted", name, fit, out["collapse_seconds"] + fit_s, theirs, theirs_s)
    out["synthetic_bgnbd_true_params"] = list(CDNOW_BGNBD)
    # lifetimes BG/NBD on every raw row (what a user of lifetimes runs without compressing the data)
    theirs, theirs_s = _timed(lambda: _lifetimes("bgnbd", x, t_x, T))
    out["synthetic_raw_bgnbd_lifetimes_seconds"] = round(theirs_s, 3)
    out["synthetic_raw_bgnbd_ratio_to_lifetimes"] = round(
        (out["collapse_seconds"] + out["synthetic_bgnbd_fit_seconds"]) / theirs_s, 4
    )
    out["collapse_seconds"] = round(out["collapse_seconds"], 3)
    out["draw_seconds"] = round(out["draw_seconds"], 3)
    return out
