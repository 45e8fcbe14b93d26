"""``explain bundle build`` (a bundle from files, no Python) and the strict profile and catalog schemas."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from explain import BundleError, CatalogError, FeatureCatalog, ModelBundle, NoticeInputError, save_bundle
from explain.notices._profile import DEMO_PROFILE_PATH, PROFILE_TABLES, LenderProfile
from lender_support import make_lender

CATALOG = "\n".join(
    f'[groups.{code}]\nlabel = "{code}"\nfeatures = ["{feature}"]\nadverse = "{code} counted against you."\n'
    f'favourable = "{code} counted for you."\n'
    for code, feature in (("income", "月收入"), ("usage", "额度使用率"), ("city", "城市等级"))
) + '[features."额度使用率"]\nkind = "percent"\n[features."城市等级"]\nkind = "category"\n' \
    '[features."城市等级".categories]\n"一线" = "a tier-1 city"\n"二线" = "a tier-2 city"\n"三线" = "a tier-3 city"\n'


def _data(n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"月收入": rng.normal(9000, 2000, n).round(2), "额度使用率": rng.uniform(0, 1, n).round(4),
                      "城市等级": pd.Categorical(rng.choice(["一线", "二线", "三线"], n))})
    y = (2 * X["额度使用率"] - X["月收入"] / 9000 + (X["城市等级"] == "三线") + rng.logistic(size=n) > 0.5).astype(int)
    return X, y.to_numpy()


@pytest.mark.parametrize("fmt", ["json", "ubj", "txt"])
def test_bundle_build_from_a_model_file_equals_save_bundle(fmt, tmp_path):
    from explain.cli import app

    X, y = _data()
    if fmt == "txt":
        lightgbm = pytest.importorskip("lightgbm")
        fitted = lightgbm.LGBMClassifier(n_estimators=20, num_leaves=8, verbose=-1, n_jobs=1).fit(X, y)
        fitted.booster_.save_model(tmp_path / "model.txt")
        model = lightgbm.Booster(model_file=tmp_path / "model.txt")
    else:
        xgboost = pytest.importorskip("xgboost")
        fitted = xgboost.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1, enable_categorical=True,
                                       tree_method="hist").fit(X, y)
        fitted.save_model(tmp_path / f"model.{fmt}")
        model = fitted
    lender = make_lender(tmp_path / "lender", CATALOG)
    background = X.iloc[:50]
    background.assign(label=1).to_csv(tmp_path / "good.csv", index=False)
    result = CliRunner().invoke(app, ["bundle", "build", "--model", str(tmp_path / f"model.{fmt}"), "--lender",
                                      str(lender), "--background", str(tmp_path / "good.csv"), "--ignore", "label",
                                      "--name", "cli", "--version", "1", "-o", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    built = ModelBundle.load(tmp_path / "cli")
    in_python = save_bundle(tmp_path / "py", model=model, lender=lender, background=background, name="cli", version="1",
                            model_format={"json": "xgboost-json", "ubj": "xgboost-ubj", "txt": "lightgbm-text"}[fmt])
    assert isinstance(built.background["城市等级"].dtype, pd.CategoricalDtype) or fmt == "txt"
    rows = X.iloc[100:110]
    ours = built.explainer().reasons(rows, decision="limit_decrease")
    theirs = in_python.explainer().reasons(rows, decision="limit_decrease")
    assert [r.to_dict() for r in ours] == [r.to_dict() for r in theirs]
    assert f"built '{tmp_path / 'cli'}'" in " ".join(result.output.split())


def test_bundle_build_names_what_is_wrong(tmp_path):
    from explain.cli import app

    (tmp_path / "model.pkl").write_bytes(b"x")
    result = CliRunner().invoke(app, ["bundle", "build", "--model", str(tmp_path / "model.pkl"), "--lender", str(tmp_path),
                                      "--background", "good.csv", "--name", "n", "--version", "1"])
    assert result.exit_code == 2 and "--model" in result.output and ".ubj" in result.output


def test_a_misspelt_profile_table_is_refused_with_the_nearest_name(tmp_path):
    text = DEMO_PROFILE_PATH.read_text("utf-8").replace("[lender.sms_signature]", "[lender.sms_signatures]")
    with pytest.raises(NoticeInputError, match=r"lender.sms_signatures.*did you mean 'sms_signature'"):
        LenderProfile.from_dict(tomllib.loads(text))
    with pytest.raises(NoticeInputError, match=r"did you mean 'review'"):
        LenderProfile.from_dict(tomllib.loads(DEMO_PROFILE_PATH.read_text("utf-8").replace("[review]", "[reveiw]")))
    # The bundle is not built from such a folder.
    X, y = _data(60)
    lender = make_lender(tmp_path / "lender", CATALOG, profile_text=text)
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(max_iter=5).fit(X, y)
    with pytest.raises((NoticeInputError, BundleError), match="sms_signature"):
        save_bundle(tmp_path / "b", model=model, lender=lender, background=X, name="n", version="1")
    assert set(PROFILE_TABLES["lender"]) >= {"name", "sms_signature"}


@pytest.mark.parametrize(("table", "typo", "nearest"), [
    ("groups", "advise", "advice"), ("features", "scael", "scale"), ("catalog", "materiallity", "materiality"),
    ("top", "group", "groups")])
def test_a_misspelt_catalog_key_is_refused_with_the_nearest_name(table, typo, nearest):
    data = {"groups": {"g": {"label": "G", "features": ["x"], "adverse": "a", "favourable": "f"}},
            "features": {"x": {"kind": "percent"}}}
    if table == "groups":
        data["groups"]["g"][typo] = "Pay on time."
    elif table == "features":
        data["features"]["x"][typo] = "percent"
    elif table == "catalog":
        data["catalog"] = {typo: 0.1}
    else:
        data[typo] = {}
    with pytest.raises(CatalogError, match=f"'{typo}' \\(did you mean '{nearest}'\\?\\)"):
        FeatureCatalog.from_dict(data)


def test_a_notice_from_an_xgboost_bundle_imports_neither_skops_nor_shap(tmp_path):
    """Start-up is the cost of one notice: skops' trusted types load only for a skops file, shap only where
    its kernels stand in (bench/notice.py prints the wall time)."""
    import json
    import subprocess
    import sys

    xgboost = pytest.importorskip("xgboost")
    X, y = _data()
    model = xgboost.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1, enable_categorical=True,
                                  tree_method="hist").fit(X, y)
    bundle = save_bundle(tmp_path / "b", model=model, lender=make_lender(tmp_path / "lender", CATALOG),
                         background=X.iloc[:40], name="x", version="1")
    account = tmp_path / "account.json"
    account.write_text(json.dumps({"月收入": 5000.0, "额度使用率": 0.9, "城市等级": "三线"}, ensure_ascii=False))
    code = ("import sys\nfrom explain.cli import app\n"
            f"sys.argv = ['explain', 'notice', '--bundle', {str(bundle.path)!r}, '--input', {str(account)!r}, "
            "'--decision', 'limit_decrease', '--old-limit', '20000', '--new-limit', '8000', '--locale', 'en']\n"
            "try:\n    app()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "print('LOADED', sorted(m for m in ('skops.io', 'shap', 'sklearn.pipeline') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "We are lowering the credit limit" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "LOADED []"
