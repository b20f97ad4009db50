"""Payment-default analysis: who repeatedly pays late or defaults, who defaults next, money at risk.

Modules, in the order a report uses them:

- :mod:`~crmlib.credit.features`: payment behaviour per customer as of a cutoff (only data before it)
  joined with customer attributes.
- :mod:`~crmlib.credit.target`: default on invoices issued in the window after a cutoff, and the
  training / holdout samples of a time-based backtest.
- :mod:`~crmlib.credit.profile`: default and repeat-default rates by attribute with Wilson intervals;
  weight-of-evidence and information-value tables (optbinning).
- :mod:`~crmlib.credit.models`: a WoE logistic scorecard and a gradient-boosting model, their
  evaluation (AUC, Gini, KS, Brier, calibration, gains), importance and per-customer reasons.
- :mod:`~crmlib.credit.risk`: expected loss = probability x outstanding.
- :mod:`~crmlib.credit.drift`: population stability index of the score and the model variables.
- :mod:`~crmlib.credit.plots`: plots that take ``ax=None`` and return the Axes.
- :mod:`~crmlib.credit.review`: the report's findings as plain sentences.

DataFrames in, DataFrames out; nothing here opens a database. Importing is cheap: the submodules
load when first used (``from crmlib.credit import models``).
"""

from __future__ import annotations

import importlib

__all__ = ["drift", "evaluation", "features", "models", "plots", "profile", "review", "risk", "target"]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
