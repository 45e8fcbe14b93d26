"""Installed is the product: the built wheel, in a clean virtualenv, outside the repository.

The wheel must carry the templates and the compiled catalogs, so it renders notices in both locales and
runs ``explain demo``; and a newcomer following the README's "Your own model" walk-through, step by step,
gets notices from ``explain serve`` signed by their own lender, with no file of the toolkit changed.

The virtualenv gets the wheel itself (not editable) and borrows the test environment's third-party packages
through a path entry, so the test does not download shap and friends again; the repository is never on its
path (the test checks where ``explain`` is imported from).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STEP_TIMEOUT = 300


def _git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A virtualenv with the freshly built wheel installed; returns its bin directory."""
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(dist), str(ROOT)], check=True, capture_output=True, timeout=STEP_TIMEOUT)
    (wheel,) = dist.glob("limit_explain-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=STEP_TIMEOUT)
    purelib = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # Third-party dependencies only: a plain path entry does not run the editable install's .pth hook.
    Path(purelib, "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True, timeout=STEP_TIMEOUT)
    return venv / "bin"


def _env(bindir: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXPLAIN_", "PYTHON"))}
    return {**env, "PATH": f"{bindir}:{env['PATH']}", "EXPLAIN_HOME": str(home), "COLUMNS": "250"}


def test_the_wheel_carries_templates_and_compiled_catalogs_and_renders(installed, tmp_path):
    where = subprocess.run(
        [str(installed / "python"), "-c",
         "import explain, explain.notices._notices as n, explain.notices._locales as l; print(explain.__file__); print(n.TEMPLATES_DIR); "
         "print(l.LOCALES_DIR); import explain.printing._layout as p; print(p.LETTER_CSS)"], cwd=tmp_path,
        env=_env(installed, tmp_path), capture_output=True, text=True, check=True,
    ).stdout.split()
    site = str(installed.parent)
    assert all(p.startswith(site) for p in where), where  # the installed package, not the checkout
    assert Path(where[2], "zh_CN", "LC_MESSAGES", "messages.mo").is_file()
    assert "Noto Sans CJK SC" in Path(where[3]).read_text("utf-8")  # the printed letter's stylesheet ships too
    demo = subprocess.run([str(installed / "explain"), "demo", "--accounts", "1"], cwd=tmp_path,
                          env=_env(installed, tmp_path), capture_output=True, text=True, timeout=STEP_TIMEOUT)
    assert demo.returncode == 0, demo.stderr
    assert "我行将把您账户的信用额度由¥20,000.00下调至¥8,000.00" in demo.stdout
    assert "We are lowering the credit limit on your account from CN¥20,000.00 to CN¥8,000.00." in demo.stdout


def _walkthrough_blocks() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text("utf-8")
    start = text.index("## Your own model")
    end = text.index("\n## ", start + 5)
    blocks = re.findall(r"```(sh|python)\n(.*?)```", text[start:end], re.S)
    assert blocks[0][1].lstrip().startswith("python3 -m venv"), "the first block installs; the fixture does that"
    return blocks[1:]


def test_readme_walkthrough_from_csv_and_pipeline_to_a_served_notice(installed, tmp_path):
    """Every block of "Your own model", as written: scikit-learn and skops, `explain bundle build`, a served
    notice, and the LightGBM part (model.txt through catalog init, bundle build and notice)."""
    before = _git_status()
    env = _env(installed, tmp_path)
    outputs = []
    for lang, code in _walkthrough_blocks():
        cmd = ["bash", "-euo", "pipefail", "-c", code] if lang == "sh" else [str(installed / "python"), "-c", code]
        step = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT)
        assert step.returncode == 0, f"step failed:\n{code[:400]}\n--- stdout\n{step.stdout[-2000:]}\n--- stderr\n{step.stderr[-4000:]}"
        outputs.append(step.stdout + step.stderr)
    assert "protected (proposed): age, gender" in " ".join(outputs[1].split())
    draft = (tmp_path / "lender" / "translations" / "phrases.pot").read_text("utf-8")
    assert "Using less of your limit will help." in draft
    response = json.loads((tmp_path / "notice.json").read_text("utf-8"))
    notices = {n["locale"]: n for n in response["notices"]}
    assert set(notices) == {"zh_CN", "en"}
    for locale, name in (("zh_CN", "极美消费金融"), ("en", "Acme Consumer Finance")):
        letter = notices[locale]["text"]
        assert letter.startswith(name) and letter.rstrip().endswith(name)
        assert "400-123-4567" in letter and "https://acme.example/review" in letter
        assert "Example Bank" not in letter and "示例银行" not in letter
        assert "400-123-4567" in notices[locale]["short"]  # a decrease points to the phone, not a link
    assert notices["zh_CN"]["short"].startswith("【极美消费金融】") and notices["en"]["short"].startswith("Acme: ")
    assert "我行" not in notices["zh_CN"]["text"] and "我司" in notices["zh_CN"]["text"]  # the lender's own voice
    assert {r["code"] for r in response["reasons"]}.isdisjoint({"age", "gender"})
    assert not re.search(r"[A-Za-z]{4,}", notices["zh_CN"]["text"].replace("https://acme.example/review", "")
                         .replace("review@acme.example", "")), "English words in the Chinese letter"
    # `explain bundle build` from the files makes the very bundle save_bundle made in Python.
    assert (tmp_path / "acme-bundle-cli" / "manifest.json").read_bytes() == \
        (tmp_path / "acme-bundle" / "manifest.json").read_bytes()
    # LightGBM: directions read from model.txt, a bundle built from it, a notice signed by the lender.
    import tomllib

    draft_groups = tomllib.loads((tmp_path / "lightgbm-draft.toml").read_text("utf-8"))["groups"]
    assert draft_groups["utilisation"]["direction"] == "higher_is_riskier"
    assert draft_groups["late_payments"]["direction"] == "higher_is_riskier"
    assert json.loads((tmp_path / "acme-lightgbm" / "manifest.json").read_text("utf-8"))["model"]["format"] == "lightgbm-text"
    lightgbm_notice = json.loads((tmp_path / "lightgbm-notice.json").read_text("utf-8"))
    assert lightgbm_notice["text"].startswith("Acme Consumer Finance") and lightgbm_notice["reasons"]
    assert _git_status() == before, "the walk-through changed files of the toolkit"
