"""Maximum likelihood on log-parameters with L-BFGS-B and analytic gradients."""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.optimize import minimize

from weixi.clv.errors import ConvergenceError

try:  # installed with scikit-learn
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

LOG_BOUND = 18.0  # parameters are kept in [e^-18, e^18] ~ [1.5e-8, 6.6e7]
GRAD_TOL = 1e-6  # a fit whose mean-log-likelihood gradient is above this is not converged


@contextmanager
def single_threaded_blas():
    """The fits make many small BLAS calls (dot products, L-BFGS-B's updates): a multi-threaded BLAS spends
    more time waking its threads than computing — 10x slower on a busy machine — so run them on one thread."""
    with threadpool_limits(limits=1, user_api="blas") if threadpool_limits else nullcontext():
        yield


@dataclass(frozen=True)
class FitResult:
    model: str
    params: dict[str, float]
    log_likelihood: float
    customers: int
    rows: int
    iterations: int
    evaluations: int
    extra: dict = field(default_factory=dict)
    hess_inv: np.ndarray | None = field(default=None, repr=False, compare=False)  # of the mean LL, log-parameters

    def to_json(self) -> dict:
        return {
            "model": self.model,
            "params": self.params,
            "log_likelihood": self.log_likelihood,
            "customers": self.customers,
            "unique_rows": self.rows,
            "iterations": self.iterations,
            "evaluations": self.evaluations,
            **self.extra,
        }


def maximise(
    model: str,
    names: tuple[str, ...],
    loglik_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    start: np.ndarray,
    total_weight: float,
    rows: int,
    hess_inv0: np.ndarray | None = None,
) -> FitResult:
    """Maximise ``loglik_grad(params) -> (sum LL, dLL/dparams)`` over positive parameters.

    The optimiser works on log-parameters and on the mean log-likelihood per customer (so tolerances do not
    depend on the population size); the chain rule turns dLL/dθ into dLL/dlogθ = θ·dLL/dθ. With
    ``hess_inv0`` (the inverse Hessian of a fit on a sample, which has the same mean-log-likelihood curvature)
    a BFGS polish from ``start`` needs a few evaluations instead of L-BFGS-B learning the curvature again;
    L-BFGS-B (bounded) takes over when the polish does not converge.
    """
    evaluations = [0]

    def objective(z: np.ndarray):
        evaluations[0] += 1
        theta = np.exp(z)
        ll, grad = loglik_grad(theta)
        if not np.isfinite(ll) or not np.all(np.isfinite(grad)):
            return np.inf, np.zeros_like(z)
        return -ll / total_weight, -(grad * theta) / total_weight

    z0 = np.log(np.asarray(start, dtype=float))
    res = None
    with single_threaded_blas():
        if hess_inv0 is not None:
            res = minimize(
                objective,
                z0,
                jac=True,
                method="BFGS",
                options={"hess_inv0": hess_inv0, "gtol": GRAD_TOL / 100, "maxiter": 100},
            )
            f, g = objective(res.x)
            if not (np.isfinite(f) and np.max(np.abs(g)) <= GRAD_TOL and np.all(np.abs(res.x) < LOG_BOUND)):
                z0, res = np.clip(res.x if np.isfinite(f) else z0, -LOG_BOUND, LOG_BOUND), None
        if res is None:
            res = minimize(
                objective,
                z0,
                jac=True,
                method="L-BFGS-B",
                bounds=[(-LOG_BOUND, LOG_BOUND)] * len(z0),
                options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
            )
            f, g = objective(res.x)
    if not np.isfinite(f):
        raise ConvergenceError("clv_fit_not_finite", model=model, reason=str(res.message))
    if np.max(np.abs(g)) > GRAD_TOL:
        raise ConvergenceError(
            "clv_fit_not_converged",
            model=model,
            iterations=int(res.nit),
            reason=str(res.message),
            gradient=float(np.max(np.abs(g))),
        )
    at_bound = [n for n, z in zip(names, res.x) if abs(z) >= LOG_BOUND - 1e-6]
    if at_bound:
        raise ConvergenceError("clv_fit_at_bound", model=model, names=at_bound)
    theta = np.exp(res.x)
    hess_inv = res.hess_inv.todense() if hasattr(res.hess_inv, "todense") else np.asarray(res.hess_inv)
    hess_inv = (hess_inv + hess_inv.T) / 2
    if not np.all(np.isfinite(hess_inv)) or np.linalg.eigvalsh(hess_inv).min() <= 0:
        hess_inv = None
    return FitResult(
        model,
        {n: float(v) for n, v in zip(names, theta)},
        float(-f * total_weight),
        int(round(total_weight)),
        rows,
        int(res.nit),
        evaluations[0],
        hess_inv=hess_inv,
    )
