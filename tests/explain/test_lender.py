"""A lender's own folder: translations checked at build and load, values worded as declared, the catalog
checks, and the CLI that drafts, extracts and checks it. Nothing in the toolkit is edited."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explain import (
    BundleError,
    FeatureCatalog,
    ModelBundle,
    Reason,
    TranslationError,
    format_value,
    render_notice,
    save_bundle,
)
from explain.catalog._catalog_check import check_catalog
from explain.catalog._catalog_draft import draft_catalog, protected_trait
from explain.catalog._phrasebook import Phrasebook
from explain.notices._profile import DEMO_LENDER_DIR
from lender_support import fill_translations, make_lender

CATALOG = """
[catalog]
name = "acme"
version = "1"

[groups.debt]
label = "Debt to income"
features = ["dti"]
direction = "higher_is_riskier"
actionable = true
adverse = "Your debt is {value} of your income, which is 100% too high."
favourable = "Your debt is {value} of your income."
advice = "Paying down debt will help."

[groups.late]
label = "Late payments"
features = ["late_payments"]
direction = "higher_is_riskier"
adverse = "You had {value} in the last year."
favourable = "You had {value} in the last year."

[groups.region]
label = "Region"
features = ["region"]
adverse = "Your region, {value}, counted against you."
favourable = "Your region, {value}, worked in your favour."

[features.dti]
kind = "percent"
scale = "percent"

[features.late_payments]
kind = "count"
unit = ["{count} late payment", "{count} late payments"]

[features.region]
kind = "category"
[features.region.categories]
north = "the north"
south = "the south"
"""

ZH = {
    "Debt to income": "负债收入比",
    "Your debt is {value} of your income, which is 100% too high.": "您的负债占收入的{value}，高出100%。",
    "Your debt is {value} of your income.": "您的负债占收入的{value}。",
    "Paying down debt will help.": "逐步减少负债将有助于改善评估结果。",
    "Late payments": "逾期还款",
    "You had {value} in the last year.": "过去一年您有{value}。",
    "{count} late payment": "{count}笔逾期还款",
    "{count} late payments": "{count}笔逾期还款",
    "Region": "地区",
    "Your region, {value}, counted against you.": "您所在的地区（{value}）对评估结果产生了不利影响。",
    "Your region, {value}, worked in your favour.": "您所在的地区（{value}）对评估结果产生了有利影响。",
    "the north": "北方",
    "the south": "南方",
}


def zh(msgid: str) -> str:
    return ZH.get(msgid, f"示例：{msgid}")


@pytest.fixture
def lender(tmp_path) -> Path:
    return make_lender(tmp_path / "acme", CATALOG, zh=zh)


def _frame(n: int = 40) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"dti": rng.uniform(5, 80, n).round(1), "late_payments": rng.integers(0, 4, n),
                      "region": rng.choice(["north", "south"], n)})
    y = ((X.dti / 80 + X.late_payments / 4 + rng.normal(0, 0.3, n)) > 1).astype(int).to_numpy()
    return X, y


def _model(X, y):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    encode = ColumnTransformer([("cat", OneHotEncoder(), ["region"])], remainder="passthrough")
    return Pipeline([("encode", encode), ("model", LogisticRegression(max_iter=500))]).fit(X, y)


# ------------------------------------------------------------------------------------------- translations
def test_missing_and_fuzzy_translations_fail_the_build_naming_phrase_and_locale(lender, tmp_path):
    po = lender / "translations" / "zh_CN.po"
    text = po.read_text("utf-8")
    text = text.replace('msgstr "南方"', 'msgstr ""')
    text = text.replace('msgctxt "groups:region:label"', '#, fuzzy\nmsgctxt "groups:region:label"')
    po.write_text(text, "utf-8")
    X, y = _frame()
    with pytest.raises(TranslationError) as info:
        save_bundle(tmp_path / "b", model=_model(X, y), lender=lender, background=X, name="acme", version="1")
    assert not (tmp_path / "b").exists()  # checked before anything is written
    found = {(locale, phrase.context, problem) for locale, phrase, problem in info.value.problems}
    assert found == {("zh_CN", "features:region:category:south", "untranslated"),
                     ("zh_CN", "groups:region:label", "fuzzy (needs review)")}
    assert "zh_CN: phrase 'the south'" in str(info.value)


def test_a_bundle_whose_translation_was_emptied_is_refused_at_load(lender, tmp_path):
    import hashlib
    import json

    X, y = _frame()
    bundle = save_bundle(tmp_path / "b", model=_model(X, y), lender=lender, background=X, name="acme", version="1")
    po = bundle.path / "translations" / "en.po"
    po.write_text(po.read_text("utf-8").replace('msgstr "the north"', 'msgstr ""'), "utf-8")
    manifest = json.loads((bundle.path / "manifest.json").read_text("utf-8"))
    manifest["files"]["translations/en.po"] = hashlib.sha256(po.read_bytes()).hexdigest()  # a consistent re-sign
    (bundle.path / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(TranslationError, match=r"en: phrase 'the north' \(context 'features:region:category:north'\)"):
        ModelBundle.load(bundle.path)


def test_a_placeholder_dropped_in_translation_is_an_error(lender):
    po = lender / "translations" / "zh_CN.po"
    po.write_text(po.read_text("utf-8").replace("过去一年您有{value}。", "过去一年您有逾期。"), "utf-8")
    with pytest.raises(TranslationError, match=r"placeholders differ \(expected \{value\}\)"):
        FeatureCatalog.from_toml(lender / "catalog.toml")


def test_a_bundle_without_a_profile_is_refused(lender, tmp_path):
    X, y = _frame()
    with pytest.raises(BundleError, match="needs a lender profile"):
        save_bundle(tmp_path / "b", model=_model(X, y), catalog_path=lender / "catalog.toml", background=X,
                    name="acme", version="1")


def test_update_adds_new_phrases_empty_never_fuzzy(lender):
    catalog = lender / "catalog.toml"
    catalog.write_text(catalog.read_text("utf-8").replace('label = "Region"', 'label = "Home region"'), "utf-8")
    proc = subprocess.run([sys.executable, "-m", "explain.cli", "phrases", "update", str(lender)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "1 new, 1 to translate" in proc.stdout  # zh_CN; English starts from the phrase itself
    po = (lender / "translations" / "zh_CN.po").read_text("utf-8")
    assert "fuzzy" not in po and 'msgid "Home region"\nmsgstr ""' in po and '"Region"' not in po
    check = subprocess.run([sys.executable, "-m", "explain.cli", "phrases", "check", str(lender)],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 1
    assert "zh_CN: phrase 'Home region' (context 'groups:region:label'): untranslated" in " ".join(check.stderr.split())
    fill_translations(lender, "zh_CN", lambda _: "所在地区")
    assert subprocess.run([sys.executable, "-m", "explain.cli", "phrases", "check", str(lender)],
                          capture_output=True, text=True, timeout=120).returncode == 0


# ------------------------------------------------------------------------------------------------- values
def test_percent_and_count_render_as_declared_with_plurals(lender):
    catalog = FeatureCatalog.from_toml(lender / "catalog.toml")
    fmt = lambda v, f, loc: format_value(v, catalog.features[f].kind, locale=loc, feature=f, catalog=catalog)  # noqa: E731
    assert fmt(65.1, "dti", "en") == "65.1%" and fmt(65.1, "dti", "zh_CN") == "65.1%"
    assert fmt(1, "late_payments", "en") == "1 late payment"
    assert fmt(3, "late_payments", "en") == "3 late payments"
    assert fmt(3, "late_payments", "zh_CN") == "3笔逾期还款"
    assert format_value(0.651, "percent", locale="en") == "65%"  # a fraction by default


def test_percent_sign_in_a_phrase_renders(lender):
    catalog = FeatureCatalog.from_toml(lender / "catalog.toml")
    from explain.notices._profile import LenderProfile

    profile = LenderProfile.from_toml(lender / "profile.toml")
    reason = Reason("debt", "model", "adverse", 0.4, "dti", 65.1, "percent", 90.0, True)
    en = render_notice("limit_decrease", [reason], locale="en", catalog=catalog, profile=profile, old_limit=2000,
                       new_limit=1000, account_ref="A-1")
    zh_notice = render_notice("limit_decrease", [reason], locale="zh_CN", catalog=catalog, profile=profile,
                              old_limit=2000, new_limit=1000, account_ref="A-1")
    assert "Your debt is 65.1% of your income, which is 100% too high." in en.text
    assert "您的负债占收入的65.1%，高出100%。" in zh_notice.text


# -------------------------------------------------------------------------------------------------- draft
@pytest.mark.parametrize(
    ("name", "values", "trait"),
    [("age", [], "age"), ("customer_age_years", [], "age"), ("gender", [], "sex or gender"),
     ("personal_status_and_sex", [], "sex or gender"), ("foreign_worker", [], "nationality or origin"),
     ("MaritalStatus", [], "marital status"), ("客户年龄", [], "age"), ("性别", [], "sex or gender"),
     ("民族", [], "race or ethnicity"), ("户籍所在地", [], "nationality or origin"), ("宗教信仰", [], "religion"),
     ("applicant_group", ["male", "female"], "sex or gender"), ("mortgage", [], None), ("usage_rate", [], None),
     ("page_views", [], None), ("region", ["north", "south"], None)],
)
def test_protected_traits_are_recognised_by_name_and_value(name, values, trait):
    assert protected_trait(name, values) == trait


def test_draft_is_a_catalog_that_check_refuses_until_worded(tmp_path):
    X, y = _frame(200)
    X["age"] = np.random.default_rng(0).integers(18, 80, len(X))
    model = _model(X, y)
    draft = draft_catalog(X, model=model)
    assert isinstance(draft, FeatureCatalog)
    assert draft.groups["age"].protected and not draft.groups["dti"].protected
    assert draft.features["late_payments"].kind == "count" and draft.features["region"].kind == "category"
    assert draft.groups["dti"].direction == "higher_is_riskier"
    report = check_catalog(draft, phrases=None, background=X)
    assert any("placeholder phrase" in p and "group 'dti'" in p for p in report.problems)
    assert any(p.startswith("translations: none found") for p in report.problems)


def test_check_finds_each_problem(lender):
    text = (lender / "catalog.toml").read_text("utf-8")
    text += '\n[groups.age]\nlabel = "Age"\nfeatures = ["age"]\nadverse = "a {value}"\nfavourable = "f {value}"\n' \
            '[features.age]\nkind = "years"\n[features.share]\nkind = "percent"\n' \
            '[groups.share]\nlabel = "Share"\nfeatures = ["share"]\nadverse = "TODO: x"\nfavourable = "s {value}"\n'
    catalog = FeatureCatalog.from_dict(__import__("tomllib").loads(text))
    X, _ = _frame()
    X["age"] = 30
    X["share"] = 45.0  # percentages, but declared as a fraction
    problems = check_catalog(catalog, phrases=Phrasebook.from_dir(lender / "translations"), background=X).problems
    assert any("feature 'age' looks like a protected trait (age)" in p for p in problems)
    assert any("group 'share' adverse: placeholder phrase" in p for p in problems)
    assert any("feature 'share': kind percent reads fractions" in p for p in problems)
    assert any(p.startswith("translation zh_CN: groups:age:label 'Age': missing") for p in problems)
    # A written rationale for protected = false is accepted.
    text = text.replace('[groups.age]\nlabel = "Age"', '[groups.age]\nlabel = "Age"\nrationale = "Years at address, not age."')
    catalog = FeatureCatalog.from_dict(__import__("tomllib").loads(text))
    assert not any("looks like a protected trait" in p for p in check_catalog(catalog, background=X).problems)


def test_check_passes_on_the_demo_and_reports_counter_intuitive_shares():
    proc = subprocess.run([sys.executable, "-m", "explain.cli", "catalog", "check", "--bundle", "demo"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "note: counter-intuitive contributions on the background" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1].startswith("ok: FeatureCatalog(name='german-credit-demo'")


def test_check_fails_with_one_line_per_problem(tmp_path):
    shutil.copytree(DEMO_LENDER_DIR, tmp_path / "demo")
    catalog = tmp_path / "demo" / "catalog.toml"
    catalog.write_text(catalog.read_text("utf-8").replace('label = "Savings"', 'label = "TODO savings"'), "utf-8")
    proc = subprocess.run([sys.executable, "-m", "explain.cli", "catalog", "check", str(catalog)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = [line for line in proc.stdout.splitlines() if line.startswith("problem: ")]
    assert lines[0] == "problem: group 'savings' label: placeholder phrase 'TODO savings'; write the customer's wording"
    assert any("translation zh_CN: groups:savings:label 'TODO savings': missing" in line for line in lines)
    # the placeholder, and the missing translation in each locale the demo lender translates (all four)
    assert len(lines) == 5


# ------------------------------------------------------------------------------------------------ inputs
def test_accounts_file_with_an_id_column_and_unused_columns(tmp_path):
    from explain import demo_data

    frame = demo_data().iloc[:3].copy()
    frame.insert(0, "customer_id", ["A-1", "A-2", "A-3"])
    frame["name"] = ["Li", "Wang", "Zhang"]
    frame["defaulted"] = [0, 1, 0]
    path = tmp_path / "accounts.csv"
    frame.to_csv(path, index=False)
    proc = subprocess.run([sys.executable, "-m", "explain.cli", "reasons", "--bundle", "demo", "--input", str(path),
                           "--decision", "limit_decrease", "--format", "json", "--id-column", "customer_id",
                           "--ignore", "name", "--ignore", "defaulted"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    import json

    assert [r["row"] for r in json.loads(proc.stdout)] == ["A-1", "A-2", "A-3"]
    bad = subprocess.run([sys.executable, "-m", "explain.cli", "reasons", "--bundle", "demo", "--input", str(path),
                          "--decision", "limit_decrease", "--ignore", "nickname"], capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode == 2 and "--ignore 'nickname' is not a column" in " ".join(bad.stderr.split())


def test_a_missing_input_file_is_reported_before_the_bundle_is_loaded(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "explain.cli", "reasons", "--bundle", str(tmp_path / "no-bundle"),
                           "--input", str(tmp_path / "nope.csv"), "--decision", "limit_decrease"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "--input" in proc.stderr and "does not exist" in proc.stderr and "bundle" not in proc.stderr
