"""``--device cuda``: XGBoost's GPU contribution kernel (GPUTreeShap) instead of the CPU one.

Only an XGBoost bundle explained in the path-dependent meaning can use it: that is the one TreeSHAP XGBoost
runs on a GPU. Everything after the contributions (additivity check, grouping, reasons, notices) is the
same code as on the CPU. Asking for the GPU where there is none is an error, never a silent CPU run.

Unverified on this project's machines (none has a GPU): the check that the GPU's reasons equal the CPU's
within 1e-5 must be run where one exists.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from explain._exceptions import ExplainError

__all__ = ["DEVICES", "DeviceUnavailableError", "gpu_explainer"]

DEVICES = ("cpu", "cuda")


class DeviceUnavailableError(ExplainError, RuntimeError):
    """The device asked for cannot run this bundle here; the message says why and what to do instead."""

    def __init__(self, device: str, reason: str) -> None:
        self.device = device
        self.reason = reason
        super().__init__(f"--device {device} is not available: {reason}. Run with --device cpu instead.")


def _check_cuda() -> None:
    import xgboost

    if not xgboost.build_info().get("USE_CUDA", False):
        raise DeviceUnavailableError("cuda", f"this XGBoost ({xgboost.__version__}) was built without CUDA")
    probe = xgboost.XGBRegressor(n_estimators=1, max_depth=1, device="cuda")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            probe.fit(np.zeros((2, 1)), np.array([0.0, 1.0]))
        except xgboost.core.XGBoostError as exc:
            raise DeviceUnavailableError("cuda", f"XGBoost found no usable CUDA device ({exc})") from None
    if any("No visible GPU" in str(w.message) or "cpu" in str(w.message).lower() for w in caught):
        raise DeviceUnavailableError("cuda", "XGBoost sees no CUDA device on this machine")


def gpu_explainer(bundle: Any) -> Any:
    """An :class:`~explain.Explainer` of ``bundle`` whose contributions come from XGBoost on the GPU."""
    from explain.attribution._attribution import Explainer

    if not type(bundle.model).__module__.startswith("xgboost"):
        raise DeviceUnavailableError("cuda", f"the GPU kernel is XGBoost's; this bundle's model is a "
                                             f"{type(bundle.model).__name__}")
    if (bundle.tree_mode or "interventional") != "path_dependent":
        raise DeviceUnavailableError("cuda", "XGBoost's GPU TreeSHAP is path-dependent; this bundle is explained "
                                             "interventionally (tree_mode in its manifest)")
    _check_cuda()

    class _GpuExplainer(Explainer):
        """Contributions per model column from ``pred_contribs`` on the GPU; the rest as on the CPU."""

        def _attribute_model_space(self, Xt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            import xgboost

            booster = self._adapter.estimator.get_booster()
            booster.set_param({"device": "cuda"})
            contribs = booster.predict(xgboost.DMatrix(Xt, feature_names=booster.feature_names), pred_contribs=True)
            contribs = np.asarray(contribs, dtype=np.float64)
            return contribs[:, :-1], contribs[:, -1]

    return _GpuExplainer(bundle.model, catalog=bundle.catalog, background=bundle.background, higher_is=bundle.higher_is,
                         tree_mode=bundle.tree_mode, random_state=bundle.manifest.get("random_state", 0))
