"""Campaign targeting: who to contact, who responds *because of* the contact, and what it earns.

Modules
-------
features
    Customer features as of a date (no leakage) and campaign contact frames.
uplift
    Uplift learners (two-model, interaction logit, X-learner, DR-learner, ensemble) and the
    default that chooses among them by cross-validated Qini (``UpliftSelector``).
evaluation
    Qini and uplift curves, Qini coefficient / AUUC, uplift by decile, response rates.
propensity
    Response propensity and category propensity.
plan
    Margin per conversion, target list under a budget, profit curve, strategy comparison.
review
    The steps of a campaign review: model choice, held-out score checks, findings sentences.
plots
    Matplotlib plots that take ``ax=None`` and return the Axes.

Nothing here opens a database: pass DataFrames loaded with :mod:`crmlib.db`.
"""

from __future__ import annotations

from .evaluation import (
                       auuc,
                       qini_coefficient,
                       qini_curve,
                       response_rates,
                       uplift_by_decile,
                       uplift_curve,
)
from .features import (
                       FEATURE_COLUMNS,
                       MODEL_FEATURES,
                       REQUIRED_COLUMNS,
                       campaign_frame,
                       customer_features,
                       select_campaign,
)
from .plan import (
                       break_even_cost,
                       compare_strategies,
                       list_summary,
                       margin_per_conversion,
                       profit_curve,
                       target_list,
)
from .propensity import (
                       CategoryPropensity,
                       ResponsePropensity,
                       category_frame,
                       category_propensity,
                       top_prospects,
)
from .review import (
                       CHECK_COLUMNS,
                       ModelChoice,
                       choose_model,
                       findings,
                       score_checks,
                       select_learner,
)
from .uplift import (
                       LEARNERS,
                       MODELS,
                       DRLearner,
                       InteractionLogit,
                       NoControlGroupError,
                       TargetingWarning,
                       TooFewConversionsError,
                       TwoModelUplift,
                       UpliftEnsemble,
                       UpliftSelector,
                       XLearner,
                       cross_fit_predict,
                       fit_model,
                       make_model,
)

__all__ = [
    "FEATURE_COLUMNS", "LEARNERS", "MODELS", "MODEL_FEATURES", "REQUIRED_COLUMNS",
    "CategoryPropensity", "DRLearner", "InteractionLogit", "NoControlGroupError", "ResponsePropensity",
    "TargetingWarning", "TooFewConversionsError", "TwoModelUplift", "UpliftEnsemble", "UpliftSelector",
    "XLearner",
    "auuc", "break_even_cost", "campaign_frame", "category_frame", "category_propensity",
    "compare_strategies", "cross_fit_predict", "customer_features", "fit_model", "list_summary", "make_model",
    "margin_per_conversion", "profit_curve", "qini_coefficient", "qini_curve", "response_rates",
    "select_campaign", "target_list", "top_prospects", "uplift_by_decile", "uplift_curve",
    # review: the steps of the campaign_targeting report
    "CHECK_COLUMNS", "ModelChoice", "choose_model", "findings", "score_checks",
    "select_learner",
]
