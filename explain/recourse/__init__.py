"""What would change this decision: verified, minimum-cost recourse for an adverse decision.

For tree ensembles the model is constant between split thresholds, so each feature's candidate values are
finitely many cells; :class:`RecourseSolver` enumerates them exactly (one or two features; three or four as a
MILP over the trees' leaves, solved by HiGHS), scores them through the attribution stage's flattened trees, and
re-scores the chosen change with the model itself before it is shown. When no change within the catalog's actions reaches the target, the result says so with a
certificate (the actions considered and the best score reachable) instead of a suggestion.
"""

from explain.recourse._actions import ACTION_DIRECTIONS, ActionSpec, RecoursePolicy
from explain.recourse._result import Certificate, Change, Recourse, Suggestion
from explain.recourse._solver import RecourseSolver, find_recourse

__all__ = [
    "ACTION_DIRECTIONS",
    "ActionSpec",
    "Certificate",
    "Change",
    "Recourse",
    "RecoursePolicy",
    "RecourseSolver",
    "find_recourse",
]
