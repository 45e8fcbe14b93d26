"""Model governance: what a new model version changes in the reasons, how stable each reason is, and who
gets which reasons.

:func:`compare_bundles` (``explain compare``) reads a portfolio's accounts and decisions chunk by chunk and
explains them with an old and a new bundle; the :class:`GovernanceReport` it returns says which customers
would now be told something different and why, whether each decision's reasons survive the method choices a
regulator could question, and whether members of a protected group get different reasons than everyone
else, with the bundles and data hashes it covers. :func:`render_governance` writes it as one HTML page.

Modules, each with one job::

    _explained   one bundle's reasons for a chunk, bad rows set aside
    _diff        per-account version diff and its totals
    _stability   the alternative method choices and the stable flag
    _disparity   gaps between protected groups, Poisson-bootstrap intervals
    _run         the run: decisions matched, chunks read, totals merged (local or Dask)
    _render      the HTML page
"""

from explain.governance._diff import approved
from explain.governance._render import render_governance
from explain.governance._run import ENGINES, GovernanceReport, compare_bundles
from explain.governance._stability import Alternative, alternatives, cutoff_reference, record_stability

__all__ = ["ENGINES", "Alternative", "GovernanceReport", "alternatives", "approved", "compare_bundles", "cutoff_reference",
           "record_stability", "render_governance"]
