"""`make serve` on a fresh clone installs what serving needs and no test tool; `make test` installs them all.

Read from what make would run (``make -n`` on a virtualenv that does not exist yet, i.e. a fresh clone) and from
the environment: the closure of the package's own requirements, without extras, as pip resolves them.
"""

from __future__ import annotations

import re
import subprocess
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
TEST_TOOLS = {"pytest", "hypothesis", "schemathesis", "playwright", "textstat", "httpx", "xgboost", "lightgbm",
              "psycopg", "dask", "distributed", "pyarrow"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _dry_run(target: str, tmp_path: Path) -> list[str]:
    out = subprocess.run(["make", "-n", target, f"VENV={tmp_path / 'fresh'}", "PORT=9123"], cwd=ROOT,
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return [line for line in out.splitlines() if "pip install" in line]


def test_make_serve_on_a_fresh_clone_installs_no_extra(tmp_path):
    installs = _dry_run("serve", tmp_path)
    assert installs and all("-e . " in line + " " and ".[" not in line for line in installs), installs
    assert "--port 9123" in subprocess.run(["make", "-n", "serve", f"VENV={tmp_path / 'fresh'}", "PORT=9123"],
                                           cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert any('".[test]"' in line for line in _dry_run("test", tmp_path))


def _closure(requirements: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = _canonical(req.name)
        wanted = [name, *(f"{name}[{e}]" for e in sorted(req.extras))]
        if all(w in seen for w in wanted):
            continue
        seen.update(wanted)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue
        for text in dist.requires or []:
            sub = Requirement(text)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in ("", *req.extras)):
                if sub.marker is not None and not sub.marker.evaluate({"extra": ""}) and not req.extras:
                    continue
                todo.append(sub)
    return {s for s in seen if "[" not in s}


def test_serving_requirements_pull_in_no_test_tool():
    own = [r for r in metadata.distribution("limit-explain").requires or []
           if Requirement(r).marker is None or Requirement(r).marker.evaluate({"extra": ""})]
    installed = _closure(own)
    assert {"fastapi", "uvicorn", "shap", "sqlalchemy"} <= installed
    assert not installed & TEST_TOOLS, sorted(installed & TEST_TOOLS)
