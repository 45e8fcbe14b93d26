"""The feature catalog: validation errors name the feature or group; the demo catalog fits the demo model."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from explain import CatalogError, FeatureCatalog

DEMO = Path(str(resources.files("explain") / "data" / "demo_lender" / "catalog.toml"))


@pytest.fixture()
def demo_dict() -> dict:
    return tomllib.loads(DEMO.read_text(encoding="utf-8"))


def test_demo_catalog_groups_the_twenty_attributes(bundle):
    catalog = FeatureCatalog.from_toml(DEMO)
    catalog.check_features(bundle.feature_names)
    assert len(catalog.feature_names) == 20
    assert 9 <= len([g for g in catalog.groups.values() if not g.protected]) <= 11
    protected = {f for g in catalog.groups.values() if g.protected for f in g.features}
    assert protected == {"personal_status_and_sex", "age_in_years", "foreign_worker", "telephone"}  # Reg B 1002.6(b)(4)
    assert catalog.group_of("duration_in_month").code == "loan_term"
    assert all(g.advice for g in catalog.groups.values() if g.actionable)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["groups"]["savings"]["features"].append("duration_in_month"),
         "feature 'duration_in_month': is listed in both group 'loan_term' and group 'savings'"),
        (lambda d: d["groups"]["savings"].update(protected="yes"),
         "group 'savings': flag 'protected' must be true or false, got 'yes'"),
        (lambda d: d["groups"]["savings"].pop("label"), "group 'savings': missing required key 'label'"),
        (lambda d: d["groups"]["loan_term"].update(direction="up"), "group 'loan_term': 'direction' must be one of"),
        (lambda d: d["groups"]["loan_term"].pop("advice"), "group 'loan_term': is actionable, so it needs an 'advice'"),
        (lambda d: d["features"]["credit_amount"].update(kind="euros"), "feature 'credit_amount': 'kind' must be one of"),
        (lambda d: d["features"].update(ghost={"kind": "count"}), "feature 'ghost': has a \\[features\\] table but belongs to no group"),
        (lambda d: d["groups"]["savings"].update(colour="red"), "group 'savings': unknown key\\(s\\) 'colour'"),
        (lambda d: d["catalog"].update(top=9), "'top' must be an integer from 1 to 5, got 9"),
    ],
)
def test_validation_errors_name_the_culprit(demo_dict, mutate, message):
    broken = copy.deepcopy(demo_dict)
    mutate(broken)
    with pytest.raises(CatalogError, match=message):
        FeatureCatalog.from_dict(broken)


def test_catalog_must_cover_the_model_exactly(bundle, demo_dict):
    del demo_dict["groups"]["household"]
    del demo_dict["features"]["number_of_people_being_liable_to_provide_maintenance_for"]
    del demo_dict["features"]["telephone"]
    catalog = FeatureCatalog.from_dict(demo_dict)
    with pytest.raises(CatalogError, match="feature 'number_of_people_being_liable_to_provide_maintenance_for': is a model input"):
        catalog.check_features(bundle.feature_names)
    with pytest.raises(CatalogError, match="feature 'duration_in_month': is not a model input"):
        FeatureCatalog.from_toml(DEMO).check_features([f for f in bundle.feature_names if f != "duration_in_month"])


def test_invalid_toml_is_reported(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[groups\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="is not valid TOML"):
        FeatureCatalog.from_toml(path)
