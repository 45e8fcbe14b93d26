"""The Merkle log, in public: its checkpoint and key, inclusion proofs by leaf hash, consistency proofs, and a
receipt check. No key needed and nothing revealed but hashes: a leaf's proof is found only by its leaf hash,
which only someone holding the notice and its receipt can compute.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from api.auditlog import get_log
from api.problems import Problem
from api.schemas import ProblemDetails
from explain.audit._checkpoint import CheckpointError
from explain.audit._log import AuditLog, verify_receipt
from explain.audit._merkle import ProofError, verify_consistency

router = APIRouter(prefix="/v1/log", tags=["log"])

LogDep = Annotated[AuditLog, Depends(get_log)]
_NOT_FOUND = {404: {"model": ProblemDetails}}
_HASH = "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
_NOTE = f"bank.example/explain-log\n42\n{_HASH}\n\n\u2014 bank.example/explain-log AbCdEf...\n"
_RECEIPT = {"leaf_index": 7, "tree_size": 42, "inclusion_proof": [_HASH], "checkpoint": _NOTE,
            "leaf": {"type": "decision", "decision_id": "0b7c2d4e-8f7a-4c1e-9d2b-3f5a6e7b8c9d",
                     "record_sha256": "ab" * 32, "notice_hashes": {"zh_CN/letter": "cd" * 32}}}


def _example(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


class InclusionProof(BaseModel):
    model_config = _example({k: v for k, v in _RECEIPT.items() if k != "leaf"})

    leaf_index: int
    tree_size: int
    inclusion_proof: list[str] = Field(description="Base64 hashes, RFC 9162 audit path, leaf to root.")
    checkpoint: str = Field(description="The C2SP signed note (checkpoint) of tree_size.")


class ConsistencyProof(BaseModel):
    model_config = _example({"old_size": 7, "new_size": 42, "consistency_proof": [_HASH]})

    old_size: int
    new_size: int
    consistency_proof: list[str] = Field(description="Base64 hashes, RFC 9162 consistency proof.")


class ReceiptIn(BaseModel):
    model_config = _example(_RECEIPT)

    leaf_index: int = Field(ge=0)
    tree_size: int = Field(ge=1)
    leaf: dict[str, Any] = Field(description="The decision's leaf: type, decision_id, record_sha256, notice_hashes.")
    inclusion_proof: list[str] = Field(max_length=64)
    checkpoint: str = Field(max_length=4096)


class ReceiptCheck(BaseModel):
    model_config = _example({"receipt": _RECEIPT, "notices": {}})

    receipt: ReceiptIn = Field(description="The receipt, as GET /v1/decisions/{id}/proof gives it.")
    notices: dict[str, dict[str, Any]] = Field(default_factory=dict, description='"<locale>/<channel>" -> the notice received.')


class ReceiptVerdict(BaseModel):
    model_config = _example({"ok": True, "tree_size": 42, "latest_size": 57})

    ok: bool
    tree_size: int | None = None
    latest_size: int | None = None
    problem: str | None = None


def _latest(log: AuditLog):  # noqa: ANN202
    checkpoint = log.latest()
    if checkpoint is None:
        raise Problem(404, "log-empty", "No checkpoint yet", "The log has not signed a checkpoint yet.")
    return checkpoint


@router.get("/checkpoint", response_class=PlainTextResponse, responses=_NOT_FOUND,
            summary="The newest signed checkpoint (C2SP signed note)")
def checkpoint(log: LogDep) -> PlainTextResponse:
    return PlainTextResponse(_latest(log).note)


@router.get("/public-key", response_class=PlainTextResponse, summary="The log's verifier key (name+hash+key)")
def public_key(log: LogDep) -> PlainTextResponse:
    return PlainTextResponse(log.verifier.vkey() + "\n")


@router.get("/proof/{leaf_hash}", response_model=InclusionProof, responses=_NOT_FOUND,
            summary="The inclusion proof of a leaf, found by its hash")
def proof_by_leaf(log: LogDep, leaf_hash: Annotated[str, Path(pattern="^[0-9a-f]{64}$")]) -> InclusionProof:
    try:
        index, checkpoint, proof = log.inclusion_by_leaf(leaf_hash)
    except LookupError:
        raise Problem(404, "leaf-not-found", "Leaf not found",
                      "No leaf with this hash is in the newest checkpoint (it may be a moment away).") from None
    return InclusionProof(leaf_index=index, tree_size=checkpoint.size, checkpoint=checkpoint.note,
                          inclusion_proof=[base64.b64encode(p).decode() for p in proof])


@router.get("/consistency", response_model=ConsistencyProof, responses={**_NOT_FOUND, 422: {"model": ProblemDetails}},
            summary="Proof that the tree of old_size is a prefix of the tree of new_size")
def consistency(log: LogDep, old: Annotated[int, Query(ge=0)], new: Annotated[int, Query(ge=0)]) -> ConsistencyProof:
    latest = _latest(log)
    if not old <= new <= latest.size:
        raise Problem(422, "invalid-request", "Invalid request",
                      f"Expected 0 <= old <= new <= {latest.size} (the newest checkpoint's size).",
                      errors=[{"field": "new", "message": "out of range", "expected": f"old..{latest.size}"}])
    proof = log.consistency(old, new)
    return ConsistencyProof(old_size=old, new_size=new, consistency_proof=[base64.b64encode(p).decode() for p in proof])


@router.post("/verify-receipt", response_model=ReceiptVerdict, response_model_exclude_none=True,
             responses={422: {"model": ProblemDetails}},
             summary="Check a notice's receipt: signature, inclusion, notice hashes, and that the log still extends it")
def check_receipt(log: LogDep, body: ReceiptCheck) -> ReceiptVerdict:
    """``ok`` when the receipt's checkpoint is signed by this log, the leaf is in it, every notice given
    hashes to the leaf's value, and the newest checkpoint is a consistent extension of the receipt's."""
    try:
        cp = verify_receipt(body.receipt.model_dump(), log.verifier, notices=body.notices)
        latest = _latest(log)
        if latest.size < cp.size:
            raise ProofError(f"The log's newest checkpoint ({latest.size}) is older than the receipt's ({cp.size}).")
        verify_consistency(cp.size, latest.size, cp.root, latest.root, log.consistency(cp.size, latest.size))
    except (CheckpointError, ProofError, TypeError, ValueError, AttributeError) as exc:
        return ReceiptVerdict(ok=False, problem=str(exc))
    except Problem as exc:  # the log has no checkpoint yet
        return ReceiptVerdict(ok=False, problem=exc.detail)
    return ReceiptVerdict(ok=True, tree_size=cp.size, latest_size=latest.size)
