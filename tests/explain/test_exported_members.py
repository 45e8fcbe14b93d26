"""The public API is a contract: this list changes only on purpose."""

import explain


def test_all_is_sorted_and_pinned():
    assert explain.__all__ == sorted(explain.__all__, key=lambda n: (not n.isupper(), n))
    for name in explain.__all__:
        assert getattr(explain, name) is not None


def test_core_contract_names():
    for name in ("Explainer", "FeatureCatalog", "ModelBundle", "Attribution", "Decision", "DecisionReasons", "Reason",
                 "ExplainError", "demo_bundle", "demo_data"):
        assert name in explain.__all__


def test_review_stage_exports_are_sorted_and_pinned():
    import explain.review

    assert explain.review.__all__ == sorted(explain.review.__all__, key=lambda n: (not n.isupper(), n))
    assert {"ReviewStore", "ReviewPolicy", "State", "Action", "act", "request_review", "replay_review",
            "render_outcome_notices", "TransitionError", "ReviewError"} <= set(explain.review.__all__)
    for name in explain.review.__all__:
        assert getattr(explain.review, name) is not None
