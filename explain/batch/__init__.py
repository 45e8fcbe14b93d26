"""Portfolio scale: explain every account of a portfolio and write its notices, on one machine or on Dask.

``explain batch`` (and :func:`run_batch`) joins the lender's decisions file to its accounts file by
reference, explains the accounts chunk by chunk through the public :class:`~explain.Explainer` (whole
chunks at a time), writes one row per account and locale with the reasons and the notice texts, optionally
appends the audit records in bulk, and can be killed and restarted at any point: every account ends up in
the output (and the store) exactly once. Bad rows go to an errors file with the field and the reason.

Modules, each with one job::

    _inputs     read the accounts and the decisions in fixed chunks, Parquet or CSV
    _plan       check every decision and match it to exactly one account, before any work; the good ones
                go to an on-disk index each chunk queries
    _context    the bundle, explainer and profile, loaded once per process
    _process    one chunk in, one result frame out (reasons, notices, errors, audit drafts)
    _engines    where chunks run: in-process, warm worker processes, or Dask map_partitions; each
                stages its chunk's part files
    _output     staged and committed part files, resume state, the final output and errors files
    _audit_bulk one transaction per chunk of audit records, the chain intact
    _device     --device cuda: XGBoost's GPU contributions
    _progress   a rich bar on a terminal, log lines elsewhere
    _runner     the run, start (or restart) to finish

Needs the ``batch`` extra (pyarrow; dask and distributed for ``--engine dask``).
"""

from explain.batch._device import DeviceUnavailableError
from explain.batch._runner import BatchSummary, default_errors_path, read_output, run_batch

__all__ = ["BatchSummary", "DeviceUnavailableError", "default_errors_path", "read_output", "run_batch"]
