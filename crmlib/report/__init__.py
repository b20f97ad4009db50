"""Scheduled runs and published reports (``crmlib run``, ``crmlib schedule``, ``crmlib prune``).

Modules: :mod:`~crmlib.report.params` (parameters cell, types), :mod:`~crmlib.report.kernel`
(which kernel), :mod:`~crmlib.report.runner` (papermill execution, atomic publish, summary.json),
:mod:`~crmlib.report.render` (stakeholder HTML), :mod:`~crmlib.report.index` (index.html),
:mod:`~crmlib.report.store` (folder layout, prune), :mod:`~crmlib.report.schedule`
(schedules.yml, foreground scheduler, crontab lines), :mod:`~crmlib.report.cli` (commands).
Importing this package imports none of them (papermill and nbconvert are slow to import).
"""

from __future__ import annotations

__all__ = ["build_index", "prune", "render_html", "run_reports"]


def run_reports(*args, **kwargs):
    """See :func:`crmlib.report.runner.run_reports`."""
    from .runner import run_reports as _run

    return _run(*args, **kwargs)


def render_html(*args, **kwargs):
    """See :func:`crmlib.report.render.render_html`."""
    from .render import render_html as _render

    return _render(*args, **kwargs)


def build_index(*args, **kwargs):
    """See :func:`crmlib.report.index.build_index`."""
    from .index import build_index as _build

    return _build(*args, **kwargs)


def prune(*args, **kwargs):
    """See :func:`crmlib.report.store.prune`."""
    from .store import prune as _prune

    return _prune(*args, **kwargs)
