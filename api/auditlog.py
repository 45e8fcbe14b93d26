"""The service's Merkle log: its key from the settings, its sequencer thread started and stopped with the app."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request

from api.settings import Settings
from explain.audit._checkpoint import load_or_create_signer
from explain.audit._log import AuditLog
from explain.audit._sequencer import Sequencer
from explain.audit._store import DEFAULT_LOG_KEY_FILE, DEFAULT_LOG_ORIGIN, AuditStore

__all__ = ["get_log", "start_log", "stop_log"]

log = logging.getLogger("api")


def start_log(app: FastAPI, settings: Settings, store: AuditStore) -> None:
    """Load the signing key (a development one is made in ``var/`` when none is named) and start the sequencer."""
    path = settings.log_key_file or DEFAULT_LOG_KEY_FILE
    if settings.log_key_file is None:
        log.warning("EXPLAIN_LOG_KEY_FILE is not set: signing checkpoints with the development key %s", path)
    signer = load_or_create_signer(path, create=settings.log_key_file is None, origin=DEFAULT_LOG_ORIGIN)
    app.state.audit_log = AuditLog(store, signer=signer)
    app.state.sequencer = None
    if settings.log_sequencer:
        app.state.sequencer = Sequencer(app.state.audit_log, interval=settings.log_interval_seconds,
                                        witnesses=settings.log_witnesses)
        app.state.sequencer.start()


def stop_log(app: FastAPI) -> None:
    sequencer = getattr(app.state, "sequencer", None)
    if sequencer is not None:
        sequencer.stop()


async def get_log(request: Request) -> AuditLog:
    return request.app.state.audit_log
