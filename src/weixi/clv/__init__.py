"""Customer value, buy-till-you-die: BG/NBD, Pareto/NBD, Gamma-Gamma spend and the shifted-beta-geometric
contract model, fitted by maximum likelihood (pure numpy/scipy, no I/O). See docs/clv.md."""

from weixi.clv import bgnbd, gammagamma, paretonbd, sbg
from weixi.clv.errors import CLVError, ConvergenceError, DataError
from weixi.clv.mle import FitResult
from weixi.clv.rfm import RFM, collapse, summarise

MODELS = {"bgnbd": bgnbd, "paretonbd": paretonbd, "gammagamma": gammagamma, "sbg": sbg}

__all__ = [
    "MODELS",
    "RFM",
    "CLVError",
    "ConvergenceError",
    "DataError",
    "FitResult",
    "bgnbd",
    "collapse",
    "gammagamma",
    "paretonbd",
    "sbg",
    "summarise",
]
