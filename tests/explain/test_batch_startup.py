"""The CLI's start-up: parsing a command loads none of the heavy libraries a command may not need.

One account's ``explain notice`` pays for what it uses; ``explain --help``, ``explain batch``'s option checks
and every other command's parsing pay for typer and rich only. Measured in bench terms in the batch report;
here only the property: which modules an import of the CLI loads.
"""

from __future__ import annotations

import json
import subprocess
import sys

import explain


def test_public_names_all_load_lazily():
    assert sorted(explain.__all__) == sorted(explain._LAZY)
    for name in explain.__all__:
        assert getattr(explain, name) is not None
    assert set(explain.__all__) <= set(dir(explain))


def test_importing_the_cli_loads_no_heavy_library():
    code = ("import json, sys; import explain.cli; "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                           text=True).stdout))
    heavy = {"pandas", "numpy", "numba", "shap", "sklearn", "skops", "scipy", "xgboost", "lightgbm", "pyarrow", "dask",
             "distributed", "sqlalchemy", "fastapi", "jinja2", "babel"}
    assert not loaded & heavy, sorted(loaded & heavy)
