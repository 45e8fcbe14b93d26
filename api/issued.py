"""The bundle a stored decision was issued with, as this service has it loaded, or the 409 saying it is not.

Reading a record back as issued (its review, its printed letter) needs the very bundle that made it: its lender
profile signs the letter and its model scores a what-if. Another version under the same name will not do.
"""

from __future__ import annotations

from api.problems import Problem
from api.service import BundleRegistry, UnknownBundleError
from explain._bundle import ModelBundle
from explain.audit._audit import AuditRecord

__all__ = ["issuing_bundle"]


def issuing_bundle(bundles: BundleRegistry, record: AuditRecord, *, needed_for: str = "") -> ModelBundle:
    """``record``'s own bundle (same name and hash); a 409 ``bundle-not-loaded`` naming what is missing."""
    try:
        bundle = bundles.get(record.bundle_name)
    except UnknownBundleError:
        bundle = None
    if bundle is None or bundle.sha256 != record.bundle_sha256:
        why = f", {needed_for}" if needed_for else ""
        raise Problem(409, "bundle-not-loaded", "Bundle not loaded",
                      f"The decision {record.decision_id} was made with bundle {record.bundle_name!r} "
                      f"({record.bundle_sha256[:12]}), which this service has not loaded{why}.")
    return bundle
