"""The bundles this service explains with: versions, hashes, method, reason groups."""

from __future__ import annotations


from fastapi import APIRouter

from api.deps import BundlesDep, CallerDep
from api.routing import GuardedRoute
from api.params import BundleNamePath
from api.problems import Problem
from api.schemas import BundleList, BundleOut, ProblemDetails
from api.service import UnknownBundleError
from explain import ModelBundle

router = APIRouter(prefix="/v1/bundles", tags=["bundles"], route_class=GuardedRoute)
# 503: the key is checked against the database when the worker has not cached it, and the database may be down.
_ERRORS = {401: {"model": ProblemDetails}, 503: {"model": ProblemDetails, "description": "The database does not "
                                                 "answer; retry after the Retry-After header's seconds."}}


def _describe(bundle: ModelBundle) -> BundleOut:
    data = bundle.describe()
    data["background_sha256"] = bundle.background_sha256
    data["version"] = str(data["version"])
    return BundleOut(**data)


@router.get("", response_model=BundleList, responses=_ERRORS, summary="Loaded bundles")
def list_bundles(bundles: BundlesDep, caller: CallerDep) -> BundleList:
    return BundleList(bundles=[_describe(b) for b in bundles])


@router.get("/{name}", response_model=BundleOut, responses={**_ERRORS, 404: {"model": ProblemDetails}},
            summary="One bundle")
def get_bundle(name: BundleNamePath, bundles: BundlesDep, caller: CallerDep) -> BundleOut:
    try:
        return _describe(bundles.get(name))
    except UnknownBundleError as exc:
        raise Problem(404, "bundle-not-found", "Bundle not found", str(exc)) from None
