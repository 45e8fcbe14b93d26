"""Human review through the service: the request, every transition and every forbidden one, roles and four
eyes, idempotency, held decisions, the queue, what-ifs, replay, and the log verifying across decisions and
reviews (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
import sqlalchemy as sa
from apihelpers import assert_problem, test_log_key_file
from typer.testing import CliRunner

from explain.audit._checkpoint import load_signer
from explain.cli import app as cli
from explain.review import Action, State, allowed_actions

runner = CliRunner()
TODAY = dt.datetime.now(dt.UTC).date()


def settle(svc, timeout: float = 30.0) -> None:
    log = svc.app.state.audit_log
    deadline = time.monotonic() + timeout
    while log.pending():
        assert time.monotonic() < deadline, "the sequencer did not integrate in time"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def reviewers(service) -> dict[str, dict[str, str]]:
    """Two reviewer keys (four eyes needs two people) on the shared service."""
    keys = {}
    for name in ("reviewer-a", "reviewer-b"):
        key, _ = service.store.create_api_key("reviewer", name=f"{name}-{service.store.dialect}")
        keys[name] = {"Authorization": f"Bearer {key}"}
    return keys


@pytest.fixture
def decision(service, decision_body):
    """Issue one decision (a decrease from 20,000 to 8,000 dated today) and return a function that makes more."""

    def make(**overrides):
        body = decision_body(**{"notice_date": TODAY.isoformat(), "effective_date": None, **overrides})
        r = service.client.post("/v1/decisions", json=body, headers=service.auth("issuer"))
        assert r.status_code == 201, r.text
        return r.json()

    return make


def ask(service, decision_id: str, **overrides):
    body = {"statement": "My income went up; the decision used old figures.", "facts": {}, "channel": "phone",
            **overrides}
    return service.client.post(f"/v1/decisions/{decision_id}/reviews", json=body, headers=service.auth("issuer"))


def act(service, review_id: str, headers: dict[str, str], action: str, **fields):
    return service.client.post(f"/v1/reviews/{review_id}/actions", json={"action": action, **fields},
                               headers=headers)


def open_review(service, decision) -> dict:
    r = ask(service, decision()["decision_id"])
    assert r.status_code == 201, r.text
    return r.json()


def in_review(service, decision) -> dict:
    review = open_review(service, decision)
    r = act(service, review["review_id"], service.auth("agent"), "triage", rationale="Income evidence attached.")
    assert r.status_code == 200, r.text
    return r.json()


# ------------------------------------------------------------------------------------------------ request
def test_a_request_opens_a_review_with_its_due_date_and_holds_the_decrease(service, decision) -> None:
    issued = decision()
    r = ask(service, issued["decision_id"], facts={"duration_in_month": 12})
    assert r.status_code == 201, r.text
    review = r.json()
    assert r.headers["location"] == f"/v1/reviews/{review['review_id']}"
    assert review["state"] == "requested" and review["jurisdiction"] == "CN"
    assert review["due_date"] == (TODAY + dt.timedelta(days=15)).isoformat()  # CN: a complaint reply in 15 days
    assert review["allowed_actions"] == ["triage", "note", "withdraw"]
    assert review["held"] is True and review["facts"] == {"duration_in_month": 12}
    assert [e["action"] for e in review["events"]] == ["request"]
    stored = service.client.get(f"/v1/decisions/{issued['decision_id']}", headers=service.auth("agent")).json()
    assert stored["held"] is True and stored["review"]["review_id"] == review["review_id"]


def test_an_increase_is_not_held(service, decision) -> None:
    issued = decision(decision="limit_increase", new_limit=30000)
    review = ask(service, issued["decision_id"]).json()
    assert review["held"] is False


def test_a_second_open_review_of_the_same_decision_is_refused(service, decision) -> None:
    issued = decision()
    first = ask(service, issued["decision_id"]).json()
    body = assert_problem(ask(service, issued["decision_id"]), 409)
    assert body["review_id"] == first["review_id"] and body["state"] == "requested"


def test_the_request_is_idempotent(service, decision) -> None:
    issued = decision()
    headers = {**service.auth("issuer"), "Idempotency-Key": f"review-{issued['decision_id']}"}
    body = {"statement": "Please look again.", "channel": "app"}
    first = service.client.post(f"/v1/decisions/{issued['decision_id']}/reviews", json=body, headers=headers)
    again = service.client.post(f"/v1/decisions/{issued['decision_id']}/reviews", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    reviews = service.client.get(f"/v1/decisions/{issued['decision_id']}/reviews", headers=service.auth("agent"))
    assert len(reviews.json()) == 1
    other = service.client.post(f"/v1/decisions/{issued['decision_id']}/reviews",
                                json={**body, "statement": "Something else."}, headers=headers)
    assert_problem(other, 422, field="header.Idempotency-Key")  # the service's one answer to a reused key


def test_a_request_after_the_review_window_is_refused(service, decision) -> None:
    old = (TODAY - dt.timedelta(days=31)).isoformat()  # the demo profile's window is 30 days
    issued = decision(notice_date=old)
    body = assert_problem(ask(service, issued["decision_id"]), 409)
    assert body["type"].endswith("review-window-closed")
    assert body["last_day"] == (TODAY - dt.timedelta(days=1)).isoformat() and body["window_days"] == 30
    edge = decision(notice_date=(TODAY - dt.timedelta(days=30)).isoformat())
    assert ask(service, edge["decision_id"]).status_code == 201  # the last day still counts


@pytest.mark.parametrize(("field", "value"), [("channel", "pigeon"), ("statement", ""),
                                              ("facts", {"no_such_feature": 1})])
def test_bad_requests_name_the_field(service, decision, field, value) -> None:
    issued = decision()
    expected = "facts.no_such_feature" if field == "facts" else field
    assert_problem(ask(service, issued["decision_id"], **{field: value}), 422, field=expected)


def test_only_the_issuer_asks_and_unknown_decisions_are_404(service, decision, reviewers) -> None:
    issued = decision()
    for headers in (service.auth("agent"), service.auth("auditor"), reviewers["reviewer-a"]):
        r = service.client.post(f"/v1/decisions/{issued['decision_id']}/reviews",
                                json={"statement": "x", "channel": "phone"}, headers=headers)
        assert_problem(r, 403)
    assert_problem(ask(service, "00000000-0000-0000-0000-000000000000"), 404)


def test_simultaneous_requests_open_one_review(service, decision) -> None:
    """Eight requests for the same decision at once (the domain call, from threads): one review, seven refusals."""
    from concurrent.futures import ThreadPoolExecutor

    from explain import demo_bundle
    from explain.review import ReviewOpenError, ReviewStore, request_review

    issued = decision()
    record = service.store.get(issued["decision_id"])
    caller = service.store.authenticate(service.keys["issuer"])

    def one(i: int) -> str:
        try:
            request_review(ReviewStore(service.store), record, demo_bundle(), caller=caller, statement=f"try {i}",
                           channel="app")
            return "opened"
        except ReviewOpenError:
            return "refused"

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(one, range(8)))
    assert outcomes == ["opened"] + ["refused"] * 7
    assert len(ReviewStore(service.store).for_decision(issued["decision_id"])) == 1


def test_simultaneous_decisions_one_lands_the_other_is_refused(service, decision, reviewers) -> None:
    """Two reviewers decide the same review at once: one outcome is recorded, the other gets the 409."""
    from concurrent.futures import ThreadPoolExecutor

    from explain import demo_bundle
    from explain.review import ReviewStore, TransitionError
    from explain.review import act as review_act

    review = in_review(service, decision)
    record = service.store.get(review["decision_id"])
    callers = [service.store.authenticate(h["Authorization"].split()[1]) for h in reviewers.values()]

    def one(caller) -> str:  # noqa: ANN001
        try:
            review_act(ReviewStore(service.store), review["review_id"], "uphold", caller=caller, record=record,
                       bundle=demo_bundle(), rationale="stands", outcome_reasons=["reasons_confirmed"])
            return "upheld"
        except TransitionError:
            return "refused"

    with ThreadPoolExecutor(2) as pool:
        assert sorted(pool.map(one, callers)) == ["refused", "upheld"]
    final = ReviewStore(service.store).get(review["review_id"])
    assert [e.action for e in final.events] == ["request", "triage", "uphold"]


@pytest.mark.parametrize(("pack", "review", "days"), [("CN", "", 15), ("US", "", 30), ("EU", "reply_days = 10", 10)])
def test_the_due_date_follows_the_jurisdiction_pack(service, decision, pack, review, days) -> None:
    """The same request under each pack's profile: the due date is the pack's (or the lender's own) bound."""
    import dataclasses

    from review_support import profile

    from explain import demo_bundle
    from explain.review import ReviewStore, request_review

    bundle = dataclasses.replace(demo_bundle(), profile=profile(pack, review))
    record = service.store.get(decision()["decision_id"])
    caller = service.store.authenticate(service.keys["issuer"])
    now = dt.datetime(TODAY.year, TODAY.month, TODAY.day, 23, 59, tzinfo=dt.UTC)
    opened = request_review(ReviewStore(service.store), record, bundle, caller=caller, statement="why?",
                            channel="branch", now=now)
    assert opened.review.jurisdiction == pack
    assert opened.review.due_date == (TODAY + dt.timedelta(days=days)).isoformat()


# ------------------------------------------------------------------------------------------- transitions
def test_every_allowed_transition(service, decision, reviewers) -> None:
    a, b = reviewers["reviewer-a"], reviewers["reviewer-b"]
    agent, issuer = service.auth("agent"), service.auth("issuer")
    # requested -> in_review -> upheld
    review = in_review(service, decision)
    assert review["state"] == "in_review"
    assert act(service, review["review_id"], agent, "note", rationale="Called the customer.").json()["state"] == "in_review"
    r = act(service, review["review_id"], a, "uphold", rationale="The reasons stand.",
            outcome_reasons=["reasons_confirmed"])
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "upheld" and r.json()["held"] is False and r.json()["allowed_actions"] == []
    # requested -> withdrawn (the customer, through the issuer's channel)
    review = open_review(service, decision)
    assert act(service, review["review_id"], issuer, "withdraw").json()["state"] == "withdrawn"
    # in_review -> withdrawn (an agent records it)
    review = in_review(service, decision)
    assert act(service, review["review_id"], agent, "withdraw", rationale="Customer called back.").json()["state"] == "withdrawn"
    # in_review -> overturned at or below the threshold: one reviewer is enough
    review = in_review(service, decision)
    r = act(service, review["review_id"], a, "overturn", rationale="Income checked.",
            outcome_reasons=["facts_corrected"], new_limit=12000)  # 4,000 more than decided: below 5,000
    assert r.json()["state"] == "overturned", r.text
    outcome = r.json()["outcome"]
    assert outcome["result"] == "overturned" and outcome["new_decision"]["new_limit"] == 12000
    assert outcome["decided_by"] == [f"reviewer-a-{service.store.dialect}"]
    # above the threshold: in_review awaiting a second reviewer, then reject (back), then confirm
    review = in_review(service, decision)
    r = act(service, review["review_id"], a, "overturn", rationale="Income doubled.",
            outcome_reasons=["facts_corrected", "circumstances_changed"], new_limit=20000)
    assert r.json()["state"] == "in_review" and r.json()["awaiting_second_reviewer"] is True
    assert r.json()["allowed_actions"] == ["note", "what_if", "confirm", "reject", "withdraw"]
    r = act(service, review["review_id"], b, "reject", rationale="Evidence is a single payslip.")
    assert r.json()["state"] == "in_review" and r.json()["awaiting_second_reviewer"] is False
    act(service, review["review_id"], a, "overturn", rationale="Three payslips now.",
        outcome_reasons=["facts_corrected"], new_limit=20000)
    r = act(service, review["review_id"], b, "confirm", rationale="Agreed.")
    assert r.json()["state"] == "overturned", r.text
    assert r.json()["outcome"]["decided_by"] == [f"reviewer-a-{service.store.dialect}",
                                                 f"reviewer-b-{service.store.dialect}"]
    assert [e["action"] for e in r.json()["events"]] == ["request", "triage", "overturn", "reject", "overturn",
                                                         "confirm"]
    notices = r.json()["events"][-1]["body"]["notices"]
    assert set(notices) == {"zh_CN", "en"}
    assert "CN¥20,000.00" in notices["en"]["text"] and "¥20,000.00" in notices["zh_CN"]["text"]


def test_a_closure_overturned_withdraws_the_closure(service, decision, reviewers) -> None:
    review = in_review(service, lambda: decision(decision="account_closure", new_limit=0))
    r = act(service, review["review_id"], reviewers["reviewer-a"], "overturn", rationale="Closed in error.",
            outcome_reasons=["assessment_error"])
    assert r.json()["awaiting_second_reviewer"]  # restoring 20,000 is above the threshold
    r = act(service, review["review_id"], reviewers["reviewer-b"], "confirm", rationale="Agreed.")
    new = r.json()["outcome"]["new_decision"]
    assert new["closure_withdrawn"] is True and new["new_limit"] == 20000
    assert "withdrawn the closure" in r.json()["events"][-1]["body"]["notices"]["en"]["text"]


#: Every action that each state (and the second-look sub-state) refuses, with the 409 it gives.
_SETUPS = {
    "requested": [],
    "in_review": [("agent", "triage", {})],
    "awaiting_second": [("agent", "triage", {}), ("reviewer-a", "overturn",
                                                  {"rationale": "x", "outcome_reasons": ["facts_corrected"],
                                                   "new_limit": 20000})],
    "upheld": [("agent", "triage", {}), ("reviewer-a", "uphold", {"rationale": "x",
                                                                  "outcome_reasons": ["reasons_confirmed"]})],
    "overturned": [("agent", "triage", {}), ("reviewer-a", "overturn", {"rationale": "x", "new_limit": 9000,
                                                                        "outcome_reasons": ["facts_corrected"]})],
    "withdrawn": [("issuer", "withdraw", {})],
}
_ALL = ("triage", "note", "what_if", "uphold", "overturn", "confirm", "reject", "withdraw")
_ACTOR = {"triage": "agent", "note": "agent", "what_if": "reviewer-b", "uphold": "reviewer-b",
          "overturn": "reviewer-b", "confirm": "reviewer-b", "reject": "reviewer-b", "withdraw": "agent"}


@pytest.mark.parametrize("setup", list(_SETUPS))
def test_every_forbidden_transition_is_409_naming_state_and_moves(service, decision, reviewers, setup) -> None:
    headers = {**reviewers, **{role: service.auth(role) for role in ("agent", "issuer")}}
    review = open_review(service, decision)
    for who, action, fields in _SETUPS[setup]:
        assert act(service, review["review_id"], headers[who], action, **fields).status_code == 200
    state = "in_review" if setup == "awaiting_second" else setup
    allowed = [a.value for a in allowed_actions(State(state), awaiting_second=setup == "awaiting_second")]
    for action in _ALL:
        if action in allowed:
            continue
        fields = {"rationale": "x", "outcome_reasons": ["facts_corrected"], "new_limit": 9000}
        body = assert_problem(act(service, review["review_id"], headers[_ACTOR[action]], action, **fields), 409)
        assert body["state"] == state and body["allowed"] == allowed and body["action"] == action
        assert repr(state) in body["detail"]


# -------------------------------------------------------------------------------------- roles, four eyes
@pytest.mark.parametrize(("action", "roles"), [(a.value, r) for a, r in
                                               [(Action.TRIAGE, ("agent",)), (Action.UPHOLD, ("reviewer",)),
                                                (Action.WHAT_IF, ("reviewer",)), (Action.NOTE, ("agent", "reviewer"))]])
def test_each_action_needs_its_role(service, decision, reviewers, action, roles) -> None:
    review = open_review(service, decision) if action == "triage" else in_review(service, decision)
    callers = {"issuer": service.auth("issuer"), "agent": service.auth("agent"), "reviewer": reviewers["reviewer-a"]}
    for role, headers in callers.items():
        if role in roles:
            continue
        r = act(service, review["review_id"], headers, action, rationale="x", outcome_reasons=["reasons_confirmed"])
        body = assert_problem(r, 403)
        assert body["rule"] == "role" and repr(role) in body["detail"]
    assert_problem(act(service, review["review_id"], service.auth("auditor"), action), 403)


def test_four_eyes_the_issuing_key_cannot_decide(service, decision, reviewers) -> None:
    """A reviewer key named like the key that issued the decision is the same person: refused."""
    key, _ = service.store.create_api_key("reviewer", name="test-issuer")  # the issuer key's name
    review = in_review(service, decision)
    r = act(service, review["review_id"], {"Authorization": f"Bearer {key}"}, "uphold", rationale="x",
            outcome_reasons=["reasons_confirmed"])
    body = assert_problem(r, 403)
    assert body["rule"] == "four eyes" and "issued the decision" in body["detail"]


def test_four_eyes_the_proposer_cannot_confirm_its_own_overturn(service, decision, reviewers) -> None:
    a = reviewers["reviewer-a"]
    review = in_review(service, decision)
    act(service, review["review_id"], a, "overturn", rationale="x", outcome_reasons=["facts_corrected"],
        new_limit=20000)
    for action in ("confirm", "reject"):
        body = assert_problem(act(service, review["review_id"], a, action, rationale="Agreed with myself."), 403)
        assert body["rule"] == "four eyes" and "another reviewer" in body["detail"]


@pytest.mark.parametrize(("fields", "field"), [
    ({"outcome_reasons": ["reasons_confirmed"]}, "rationale"),
    ({"rationale": "x"}, "outcome_reasons"),
    ({"rationale": "x", "outcome_reasons": ["facts_corrected"]}, "outcome_reasons"),  # an overturn's reason
])
def test_a_decision_needs_a_rationale_and_its_outcome_reasons(service, decision, reviewers, fields, field) -> None:
    review = in_review(service, decision)
    assert_problem(act(service, review["review_id"], reviewers["reviewer-a"], "uphold", **fields), 422, field=field)


def test_an_overturn_must_change_the_limit(service, decision, reviewers) -> None:
    review = in_review(service, decision)
    r = act(service, review["review_id"], reviewers["reviewer-a"], "overturn", rationale="x",
            outcome_reasons=["facts_corrected"], new_limit=8000)
    assert_problem(r, 422, field="new_limit")


# -------------------------------------------------------------------------------------- what-if, queue
def test_the_what_if_is_stored_with_the_review_and_the_record_is_untouched(service, decision, reviewers) -> None:
    issued = decision()
    review = ask(service, issued["decision_id"], facts={"duration_in_month": 6}).json()
    act(service, review["review_id"], service.auth("agent"), "triage")
    r = act(service, review["review_id"], reviewers["reviewer-a"], "what_if", facts={"credit_amount": 500})
    assert r.status_code == 200, r.text
    what_if = r.json()["events"][-1]["body"]
    assert what_if["facts"] == {"duration_in_month": 6, "credit_amount": 500}
    assert what_if["original_score"] == issued["score"] and what_if["score"] != issued["score"]
    assert abs(what_if["base_value"] + sum(what_if["group_contributions"].values()) - what_if["margin"]) < 1e-6
    after = service.client.get(f"/v1/decisions/{issued['decision_id']}", headers=service.auth("auditor")).json()
    assert after["score"] == issued["score"] and after["record_hash"] == issued["record_hash"]


def test_the_queue_lists_overdue_first_and_filters(service, decision) -> None:
    late = open_review(service, decision)
    with service.store.engine.begin() as conn:  # as if it had come 20 days ago (due 5 days ago)
        conn.execute(sa.text("UPDATE reviews SET due_date = :d WHERE review_id = :r"),
                     {"d": (TODAY - dt.timedelta(days=5)).isoformat(), "r": late["review_id"]})
    r = service.client.get("/v1/reviews", headers=service.auth("agent"))
    assert r.status_code == 200
    queue = r.json()
    assert queue["overdue"] >= 1 and queue["reviews"][0]["review_id"] == late["review_id"]
    assert queue["reviews"][0]["overdue"] is True
    assert "explain_reviews_overdue" in service.client.get("/metrics").text
    states = service.client.get("/v1/reviews", params={"state": "requested"}, headers=service.auth("agent")).json()
    assert states["reviews"] and {x["state"] for x in states["reviews"]} == {"requested"}
    due = service.client.get("/v1/reviews", params={"due_before": (TODAY - dt.timedelta(days=1)).isoformat()},
                             headers=service.auth("agent")).json()
    assert all(x["due_date"] <= (TODAY - dt.timedelta(days=1)).isoformat() for x in due["reviews"])
    assert late["review_id"] in {x["review_id"] for x in due["reviews"]}
    assert_problem(service.client.get("/v1/reviews", headers=service.auth("issuer")), 403)


# -------------------------------------------------------------------------------------- on the record
def test_reviews_are_on_the_log_verify_and_replay(fresh_service, decision_body, tmp_path) -> None:
    svc = fresh_service
    reviewer_a, _ = svc.store.create_api_key("reviewer", name="ra")
    reviewer_b, _ = svc.store.create_api_key("reviewer", name="rb")
    a, b = ({"Authorization": f"Bearer {k}"} for k in (reviewer_a, reviewer_b))
    body = decision_body(notice_date=TODAY.isoformat(), effective_date=None)
    issued = svc.client.post("/v1/decisions", json=body, headers=svc.auth("issuer")).json()
    review = ask(svc, issued["decision_id"]).json()
    rid = review["review_id"]
    act(svc, rid, svc.auth("agent"), "triage", rationale="ok")
    act(svc, rid, a, "overturn", rationale="Income doubled.", outcome_reasons=["facts_corrected"], new_limit=20000)
    done = act(svc, rid, b, "confirm", rationale="Agreed.").json()
    assert done["state"] == "overturned"
    settle(svc)
    with svc.store.engine.connect() as conn:
        kinds = conn.execute(sa.text("SELECT kind, COUNT(*) FROM log_entries GROUP BY kind")).all()
    assert dict(kinds) == {"decision": 1, "review": 4}
    replay = svc.client.get(f"/v1/reviews/{rid}/replay", headers=svc.auth("auditor")).json()
    assert replay["identical"] is True and [n["action"] for n in replay["notices"]] == ["confirm"]

    checkpoint = tmp_path / "checkpoint.txt"
    out = runner.invoke(cli, ["audit", "checkpoint", "--out", str(checkpoint), "--database-url", svc.store.url,
                              "--key-file", test_log_key_file()])
    assert out.exit_code == 0, out.output
    vkey = load_signer(test_log_key_file()).verifier.vkey()

    def verify() -> tuple[int, dict]:
        result = runner.invoke(cli, ["audit", "verify", "--checkpoint", str(checkpoint), "--database-url",
                                     svc.store.url, "--public-key", vkey])
        return result.exit_code, json.loads(result.stdout)

    code, report = verify()
    assert code == 0 and report["log"]["ok"] is True, report
    # Rewrite the reviewer's rationale behind the service's back: the log names the review event.
    with svc.store.engine.begin() as conn:
        event = conn.execute(sa.text("SELECT id, body FROM review_events WHERE review_id = :r AND action = 'confirm'"),
                             {"r": rid}).one()
        conn.execute(sa.text("UPDATE review_events SET body = :b WHERE id = :i"),
                     {"b": event.body.replace("Agreed.", "Rubber-stamped."), "i": event.id})
    code, report = verify()
    assert code != 0 and report["log"]["first_bad_kind"] == "review" and report["log"]["first_bad_ref"] == str(event.id)
    # An event inserted with no log entry is named too.
    with svc.store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE review_events SET body = :b WHERE id = :i"), {"b": event.body, "i": event.id})
        conn.execute(sa.text("DELETE FROM log_entries WHERE kind = 'review' AND leaf_index IS NULL"))
        conn.execute(sa.text("INSERT INTO review_events (review_id, decision_id, seq, at, action, from_state, "
                             "to_state, key_id, key_name, role, body) VALUES (:r, :d, 99, 'x', 'note', 'overturned', "
                             "'overturned', 'k', 'n', 'agent', '{}')"), {"r": rid, "d": issued["decision_id"]})
    code, report = verify()
    assert code != 0 and any("review event" in p and "not on the log" in p for p in report["log"]["problems"])


# ------------------------------------------------------------------------------------------------- report
def test_the_compliance_report_counts_reviews_deadlines_overturns_and_disagreement(fresh_service, decision_body) -> None:
    svc = fresh_service
    a, b = ({"Authorization": f"Bearer {svc.store.create_api_key('reviewer', name=n)[0]}"} for n in ("ra", "rb"))
    ids = []
    for _ in range(4):
        body = decision_body(**{"notice_date": TODAY.isoformat(), "effective_date": None})
        issued = svc.client.post("/v1/decisions", json=body, headers=svc.auth("issuer")).json()
        review = ask(svc, issued["decision_id"]).json()
        act(svc, review["review_id"], svc.auth("agent"), "triage")
        ids.append((review["review_id"], issued["reasons"][0]["code"]))
    act(svc, ids[0][0], a, "uphold", rationale="x", outcome_reasons=["reasons_confirmed"])
    act(svc, ids[1][0], a, "overturn", rationale="x", outcome_reasons=["facts_corrected"], new_limit=9000)
    act(svc, ids[2][0], b, "overturn", rationale="x", outcome_reasons=["facts_corrected"], new_limit=20000)
    act(svc, ids[2][0], a, "reject", rationale="not enough evidence")
    act(svc, ids[2][0], b, "overturn", rationale="more evidence", outcome_reasons=["facts_corrected"], new_limit=20000)
    act(svc, ids[2][0], a, "confirm", rationale="ok")
    with svc.store.engine.begin() as conn:  # the fourth came in 20 days ago: 5 days overdue, still open
        conn.execute(sa.text("UPDATE reviews SET due_date = :d WHERE review_id = :r"),
                     {"d": (TODAY - dt.timedelta(days=5)).isoformat(), "r": ids[3][0]})
    figures = svc.client.get("/v1/audit/report", params={"format": "json", "sample": 0},
                             headers=svc.auth("auditor")).json()["reviews"]
    assert figures["total"] == 4 and figures["by_state"] == {"in_review": 1, "overturned": 2, "upheld": 1}
    assert figures["decided"] == 3 and figures["on_time"] == 3 and figures["overdue_open"] == 1
    assert figures["days_to_decision"] == {"median": 0, "max": 0}
    assert figures["overturn_rate"] == pytest.approx(2 / 3)
    assert {r["key"]: (r["decided"], r["overturned"]) for r in figures["by_reviewer"]} == {"ra": (2, 1), "rb": (1, 1)}
    groups: dict[str, list[int]] = {}
    for (rid, code), outcome in zip(ids[:3], (0, 1, 1), strict=True):
        groups.setdefault(code, [0, 0])
        groups[code][0] += 1
        groups[code][1] += outcome
    assert {r["key"]: [r["decided"], r["overturned"]] for r in figures["by_reason_group"]} == groups
    assert figures["second_looks"] == 2 and figures["disagreements"] == 1 and figures["disagreement_rate"] == 0.5
    html = svc.client.get("/v1/audit/report", params={"locale": "en", "sample": 0}, headers=svc.auth("auditor")).text
    assert "Human review" in html and "A second reviewer disagreed 1 times in 2 second looks (50.0%)." in html


def test_a_suspension_is_held_only_when_it_lowers_the_limit_and_an_overturn_lifts_the_pause(
        service, decision, reviewers) -> None:
    kept = decision(decision="increases_suspended", new_limit=20000, policy_reasons=["overdue_repayment"])
    assert ask(service, kept["decision_id"]).json()["held"] is False  # nothing changes on a date: nothing to hold
    lowered = in_review(service, lambda: decision(decision="increases_suspended", new_limit=12000,
                                                  policy_reasons=["overdue_repayment"]))
    assert lowered["held"] is True
    too_high = act(service, lowered["review_id"], reviewers["reviewer-a"], "overturn", rationale="Paid in full.",
                   outcome_reasons=["facts_corrected"], new_limit=25000)
    assert_problem(too_high, 422, field="new_limit")
    r = act(service, lowered["review_id"], reviewers["reviewer-a"], "overturn", rationale="Paid in full.",
            outcome_reasons=["facts_corrected"])  # no new limit: the pause lifted, the decided 12,000 kept
    assert r.status_code == 200, r.text
    new = r.json()["outcome"]["new_decision"]
    assert new["suspension_lifted"] is True and new["new_limit"] == 12000 and new["closure_withdrawn"] is False
    notices = r.json()["events"][-1]["body"]["notices"]
    assert "We have lifted the pause on increases to your credit limit. Your credit limit is CN¥12,000.00." \
        in notices["en"]["text"]
    assert "我行已取消暂停提升您信用额度的决定。您的信用额度为¥12,000.00。" in notices["zh_CN"]["text"]
