"""Persona lifecycle logic: states, conditions, rules, catch-up, the generated mix, effects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mockverse.ids import unit_draw
from mockverse.world.conditions import Condition, ConditionError
from mockverse.world.lifecycle import (
    LifecycleConfig,
    LifecycleError,
    LifecycleState,
    Transition,
    TransitionRule,
    apply_effects,
    catch_up,
    load_builtin,
    load_lifecycle_config,
    parse_mix,
    parse_rules,
    parse_state,
    state_for_generated,
    validate_effects,
)

S = LifecycleState
STATES = ["NewSignup", "Active", "ChurnRisk", "Churned", "UpgradePending", "PaymentFailed", "PowerUser"]
T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def builtin() -> LifecycleConfig:
    return load_builtin()


# -- states ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,state", [
    ("NewSignup", S.NEW_SIGNUP), ("Active", S.ACTIVE), ("ChurnRisk", S.CHURN_RISK), ("Churned", S.CHURNED),
    ("UpgradePending", S.UPGRADE_PENDING), ("PaymentFailed", S.PAYMENT_FAILED), ("PowerUser", S.POWER_USER),
    ("churn_risk", S.CHURN_RISK), ("new_signup", S.NEW_SIGNUP), ("power_user", S.POWER_USER),
    ("CHURN_RISK", S.CHURN_RISK), ("payment-failed", S.PAYMENT_FAILED), ("Upgrade Pending", S.UPGRADE_PENDING),
    ("  active ", S.ACTIVE), ("churned", S.CHURNED),
])
def test_states_parse_by_name_and_alias(text: str, state: LifecycleState) -> None:
    assert parse_state(text) is state


def test_the_states_are_declared_in_order() -> None:
    assert [s.value for s in LifecycleState] == STATES


def test_an_unknown_state_lists_every_valid_one() -> None:
    with pytest.raises(LifecycleError) as err:
        parse_state("Sleepy")
    assert err.value.field == "lifecycle_state"
    assert err.value.allowed == STATES
    assert err.value.message == ("'Sleepy' is not a lifecycle state. Valid states: NewSignup, Active, ChurnRisk, "
                                 "Churned, UpgradePending, PaymentFailed, PowerUser")


def test_a_misspelt_state_gets_a_suggestion_and_the_callers_field() -> None:
    with pytest.raises(LifecycleError) as err:
        parse_state("Activ", field="default_state")
    assert err.value.field == "default_state"
    assert err.value.message.startswith("'Activ' is not a lifecycle state; did you mean 'Active'? Valid states: ")


# -- conditions -----------------------------------------------------------------------------------

FACTS = {"login_count": 3, "plan": "pro", "ratio": 0.5, "vip": True, "blocked": False, "nothing": None,
         "metadata": {"plan": "pro", "failed_payment_count": 2, "nested": {"deep": 1}}}


@pytest.mark.parametrize("text,expected", [
    ("login_count >= 1", True), ("login_count >= 3", True), ("login_count > 3", False),
    ("login_count < 4", True), ("login_count <= 2", False), ("login_count == 3", True), ("login_count != 3", False),
    ("ratio == 0.5", True), ("ratio > -1", True), ("-1 < ratio", True), ("login_count == 3.0", True),
    ("plan == 'pro'", True), ('plan == "pro"', True), ("plan != 'free'", True), ("plan < 'q'", True),
    ("vip == true", True), ("vip", True), ("blocked", False), ("not blocked", True), ("blocked == false", True),
    ("vip and login_count > 1", True), ("vip and blocked", False), ("blocked or vip", True),
    ("blocked or login_count > 5", False), ("not vip or plan == 'pro'", True), ("not (vip or blocked)", False),
    # 'and' binds tighter than 'or'
    ("vip or blocked and blocked", True), ("(vip or blocked) and blocked", False),
    ("not not vip", True), ("((login_count == 3))", True),
    ("metadata.plan == 'pro'", True), ("metadata.failed_payment_count > 0", True), ("metadata.nested.deep == 1", True),
    ("TRUE == True and NOT blocked", True),
    # missing names are null: every comparison with null is false ...
    ("missing > 1", False), ("missing < 1", False), ("missing == 1", False), ("missing != 1", False),
    ("missing", False), ("not missing", True), ("not (missing > 1)", True), ("nothing == 0", False),
    ("metadata.absent == 1", False), ("plan.deeper == 1", False), ("missing == other_missing", False),
    # ... except against the null literal, which tests presence
    ("missing == null", True), ("missing != null", False), ("null == nothing", True),
    ("plan == null", False), ("plan != null", True),
    # a boolean never equals a number; ordering needs two numbers or two strings
    ("vip == 1", False), ("blocked == 0", False), ("vip != 1", True), ("plan > 1", False), ("login_count < 'a'", False),
])
def test_conditions_evaluate(text: str, expected: bool) -> None:
    assert Condition.parse(text).evaluate(FACTS) is expected


def test_a_dotted_key_in_the_facts_wins_over_the_walk() -> None:
    assert Condition.parse("metadata.plan == 'basic'").evaluate({"metadata.plan": "basic", "metadata": {"plan": "x"}})


def test_strings_may_escape_their_quote() -> None:
    assert Condition.parse(r"name == 'O\'Brien'").evaluate({"name": "O'Brien"})


def test_a_condition_names_what_it_reads() -> None:
    condition = Condition.parse("login_count >= 1 and (metadata.plan == 'pro' or not days_in_state > 3)")
    assert condition.names() == {"login_count", "metadata.plan", "days_in_state"}
    assert str(condition) == "login_count >= 1 and (metadata.plan == 'pro' or not days_in_state > 3)"


def test_conditions_parsed_from_the_same_text_are_equal() -> None:
    assert Condition.parse("a == 1") == Condition.parse("a == 1")
    assert Condition.parse("a == 1") != Condition.parse("a == 2")


@pytest.mark.parametrize(
    "text,message",
    [
        ("login_count >", "at position 14 in 'login_count >': expected a value, got the end of the condition"),
        ("a = 1", "at position 3 in 'a = 1': unexpected character '='; use '==' to compare"),
        ("a == 1 b", "at position 8 in 'a == 1 b': expected 'and', 'or' or the end, got 'b'"),
        (
            "(a == 1",
            "at position 8 in '(a == 1': expected ')' to close the '(' at position 1, got the end of the condition",
        ),
        ("a == 1)", "at position 7 in 'a == 1)': expected 'and', 'or' or the end, got ')'"),
        (
            "1 < a < 3",
            "at position 7 in '1 < a < 3': unexpected '<': comparisons cannot be chained, join them with 'and'",
        ),
        ("plan == 'pro", 'at position 9 in "plan == \'pro": unterminated string'),
        ("a and", "at position 6 in 'a and': expected a value, got the end of the condition"),
        ("a == and", "at position 6 in 'a == and': expected a value, got 'and'"),
        ("a && b", "at position 3 in 'a && b': unexpected character '&'"),
        ("a.", "at position 2 in 'a.': unexpected character '.'"),
    ],
)
def test_syntax_errors_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(ConditionError) as err:
        Condition.parse(text)
    assert err.value.field == "condition"
    assert err.value.message == message


def test_an_empty_condition_is_an_error() -> None:
    with pytest.raises(ConditionError) as err:
        Condition.parse("   ")
    assert err.value.message == "is empty; write a comparison such as 'login_count >= 1'"


@pytest.mark.parametrize(
    "text,message",
    [
        (
            "__import__('os')",
            "at position 1 in \"__import__('os')\": names starting with '__' are not allowed ('__import__')",
        ),
        ("open('x')", "at position 5 in \"open('x')\": unexpected '(': conditions cannot call anything"),
        ("facts.get('x')", "at position 10 in \"facts.get('x')\": unexpected '(': conditions cannot call anything"),
        (
            "plan.__class__",
            "at position 1 in 'plan.__class__': names starting with '__' are not allowed ('plan.__class__')",
        ),
        ("a[0]", "at position 2 in 'a[0]': unexpected character '['"),
        ("1 + 1", "at position 3 in '1 + 1': unexpected character '+'"),
        ("lambda: 1", "at position 7 in 'lambda: 1': unexpected character ':'"),
    ],
)
def test_conditions_cannot_call_or_reach_attributes(text: str, message: str) -> None:
    with pytest.raises(ConditionError) as err:
        Condition.parse(text)
    assert err.value.message == message


def test_dotted_names_read_mappings_never_attributes() -> None:
    class Persona:
        plan = "pro"

    assert Condition.parse("p.plan == null").evaluate({"p": Persona()})


def test_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(ConditionError) as err:
        Condition.parse("(" * 200 + "a" + ")" * 200)
    assert err.value.message == f"at position 33 in {'(' * 200 + 'a' + ')' * 200!r}: parentheses nested deeper than 32"


# -- rules ----------------------------------------------------------------------------------------

def test_rules_parse_with_a_default_name() -> None:
    rules = parse_rules([
        {"from": "NewSignup", "to": "Active", "after": "7d", "when": "login_count >= 1"},
        {"from": "payment_failed", "to": "churned", "after": "36h", "name": "dunning"},
    ])
    assert rules == [
        TransitionRule(
            S.NEW_SIGNUP, S.ACTIVE, timedelta(days=7), Condition.parse("login_count >= 1"), "NewSignup->Active"
        ),
        TransitionRule(S.PAYMENT_FAILED, S.CHURNED, timedelta(hours=36), None, "dunning"),
    ]


def test_an_unknown_rule_key_is_rejected_with_a_suggestion() -> None:
    with pytest.raises(LifecycleError) as err:
        parse_rules([{"from": "NewSignup", "to": "Active", "aftr": "7d"}])
    assert err.value.field == "rules[0].aftr"
    assert err.value.message == "unknown key 'aftr'; did you mean 'after'? Allowed here: from, to, after, when, name"
    assert err.value.allowed == ["from", "to", "after", "when", "name"]


@pytest.mark.parametrize("rule,field,message", [
    ({"from": "Active", "to": "Churned", "after": "soon"}, "rules[2].after",
     "'soon' is not a duration; use a number and a unit (ms, s, m, h, d, w), e.g. '7d', '36h', '90m', '1h30m'"),
    ({"from": "Active", "to": "Churned", "after": "0d"}, "rules[2].after", "'0d' must be longer than zero, e.g. '7d'"),
    ({"from": "Active", "to": "Churned", "after": 7}, "rules[2].after",
     "a duration is a string such as '7d', '36h', '90m' or '1h30m'"),
    ({"from": "Active", "to": "Churned"}, "rules[2].after", "is required"),
    ({"from": "Active", "after": "1d"}, "rules[2].to", "is required"),
    ({"from": "Active", "to": "Active", "after": "1d"}, "rules[2].to",
     "must differ from 'from' (Active); a rule changes the state"),
    ({"from": "Active", "to": "Churned", "after": "1d", "when": "x >"}, "rules[2].when",
     "at position 4 in 'x >': expected a value, got the end of the condition"),
    ({"from": "Active", "to": "Churned", "after": "1d", "name": 5}, "rules[2].name", "must be a string"),
    ("Active -> Churned", "rules[2]", "a rule is a mapping such as {from: NewSignup, to: Active, after: 7d}"),
])
def test_bad_rules_name_the_field(rule: object, field: str, message: str) -> None:
    good = {"from": "NewSignup", "to": "Active", "after": "7d"}
    with pytest.raises(LifecycleError) as err:
        parse_rules([good, good, rule])  # type: ignore[list-item]
    assert (err.value.field, err.value.message) == (field, message)


def test_a_bad_state_in_a_rule_lists_the_states() -> None:
    with pytest.raises(LifecycleError) as err:
        parse_rules([{"from": "Sleeping", "to": "Active", "after": "1d"}])
    assert err.value.field == "rules[0].from" and err.value.allowed == STATES


# -- catch-up -------------------------------------------------------------------------------------

def test_a_new_signup_stays_for_six_days_and_is_active_at_exactly_seven(builtin: LifecycleConfig) -> None:
    assert catch_up(S.NEW_SIGNUP, T0, T0 + 6 * DAY, builtin.rules, {}) == []
    assert catch_up(S.NEW_SIGNUP, T0, T0 + 7 * DAY - timedelta(seconds=1), builtin.rules, {}) == []
    assert catch_up(S.NEW_SIGNUP, T0, T0 + 7 * DAY, builtin.rules, {}) == [
        Transition(S.NEW_SIGNUP, S.ACTIVE, T0 + 7 * DAY, "trial_converts")]


def test_payment_failed_churns_after_two_weeks_of_dunning(builtin: LifecycleConfig) -> None:
    facts = {"failed_payment_count": 2, "login_count": 5}
    assert catch_up(S.PAYMENT_FAILED, T0, T0 + 100 * DAY, builtin.rules, facts) == [
        Transition(S.PAYMENT_FAILED, S.CHURNED, T0 + 14 * DAY, "dunning_exhausted")]


def test_one_advance_walks_through_every_step_with_its_moment(builtin: LifecycleConfig) -> None:
    """A signup who never logs in: Active after the trial, at risk a month later, gone a month after that."""
    assert catch_up(S.NEW_SIGNUP, T0, T0 + 100 * DAY, builtin.rules, {"login_count": 0}) == [
        Transition(S.NEW_SIGNUP, S.ACTIVE, T0 + 7 * DAY, "trial_converts"),
        Transition(S.ACTIVE, S.CHURN_RISK, T0 + 37 * DAY, "never_logged_in"),
        Transition(S.CHURN_RISK, S.CHURNED, T0 + 67 * DAY, "retention_window_lapsed"),
    ]


def test_no_failed_payment_means_no_churn_by_dunning(builtin: LifecycleConfig) -> None:
    """No rule leaves PaymentFailed for Active: the personas' failed_payment_count is at least 1 there."""
    assert catch_up(S.PAYMENT_FAILED, T0, T0 + 100 * DAY, builtin.rules, {"failed_payment_count": 0}) == []
    assert catch_up(S.PAYMENT_FAILED, T0, T0 + 100 * DAY, builtin.rules, {}) == []


def test_an_accepted_discount_wins_a_churn_risk_back(builtin: LifecycleConfig) -> None:
    facts = {"login_count": 4, "metadata": {"discount_accepted": True}}
    assert catch_up(S.CHURN_RISK, T0, T0 + 100 * DAY, builtin.rules, facts) == [
        Transition(S.CHURN_RISK, S.ACTIVE, T0 + 7 * DAY, "won_back_by_discount")]
    assert catch_up(S.CHURN_RISK, T0, T0 + 100 * DAY, builtin.rules, {"login_count": 4}) == [
        Transition(S.CHURN_RISK, S.CHURNED, T0 + 30 * DAY, "retention_window_lapsed")]


def test_churned_and_power_users_stay_put(builtin: LifecycleConfig) -> None:
    facts = {"login_count": 0, "failed_payment_count": 3}
    assert catch_up(S.CHURNED, T0, T0 + 1000 * DAY, builtin.rules, facts) == []
    assert catch_up(S.POWER_USER, T0, T0 + 1000 * DAY, builtin.rules, facts) == []


def test_a_clock_set_back_before_entry_fires_nothing(builtin: LifecycleConfig) -> None:
    assert catch_up(S.NEW_SIGNUP, T0, T0 - 30 * DAY, builtin.rules, {}) == []
    assert catch_up(S.NEW_SIGNUP, T0, T0, builtin.rules, {}) == []


def test_the_earliest_rule_wins_and_ties_go_to_the_first_listed() -> None:
    rules = parse_rules([
        {"from": "Active", "to": "Churned", "after": "10d", "name": "late"},
        {"from": "Active", "to": "ChurnRisk", "after": "5d", "name": "early"},
        {"from": "Active", "to": "PowerUser", "after": "5d", "name": "early-too"},
    ])
    assert catch_up(S.ACTIVE, T0, T0 + 20 * DAY, rules, {}) == [
        Transition(S.ACTIVE, S.CHURN_RISK, T0 + 5 * DAY, "early")
    ]


def test_days_in_state_is_the_time_at_the_firing_moment() -> None:
    rules = parse_rules([
        {"from": "Active", "to": "ChurnRisk", "after": "5d", "when": "days_in_state >= 10"},
        {"from": "Active", "to": "Churned", "after": "12d", "when": "days_in_state >= 10"},
    ])
    assert catch_up(S.ACTIVE, T0, T0 + 20 * DAY, rules, {"days_in_state": 99}) == [
        Transition(S.ACTIVE, S.CHURNED, T0 + 12 * DAY, "Active->Churned")]


def test_a_cycle_of_rules_terminates() -> None:
    rules = parse_rules([{"from": "Active", "to": "ChurnRisk", "after": "1d"},
                         {"from": "ChurnRisk", "to": "Active", "after": "1d"}])
    fired = catch_up(S.ACTIVE, T0, T0 + 4 * DAY + timedelta(hours=12), rules, {})
    assert [(t.to_state, t.at) for t in fired] == [
        (S.CHURN_RISK, T0 + DAY), (S.ACTIVE, T0 + 2 * DAY), (S.CHURN_RISK, T0 + 3 * DAY), (S.ACTIVE, T0 + 4 * DAY)]
    assert len(catch_up(S.ACTIVE, T0, T0 + 10_000 * DAY, rules, {})) == 1000
    assert len(catch_up(S.ACTIVE, T0, T0 + 10_000 * DAY, rules, {}, max_steps=3)) == 3


def test_a_cycle_that_takes_no_time_stops_before_repeating() -> None:
    rules = [TransitionRule(S.ACTIVE, S.CHURN_RISK, timedelta(0)), TransitionRule(S.CHURN_RISK, S.ACTIVE, timedelta(0))]
    assert catch_up(S.ACTIVE, T0, T0 + DAY, rules, {}) == [Transition(S.ACTIVE, S.CHURN_RISK, T0, "Active->ChurnRisk")]


# -- the generated mix ----------------------------------------------------------------------------

def test_a_draw_picks_by_cumulative_weights_in_declaration_order() -> None:
    mix = parse_mix({"Churned": 1, "Active": 2, "new_signup": 1})   # NewSignup, Active, Churned: .25/.50/.25
    draws = [0.0, 0.2499, 0.25, 0.5, 0.7499, 0.75, 0.9999]
    assert [state_for_generated(d, mix) for d in draws] == [
        S.NEW_SIGNUP, S.NEW_SIGNUP, S.ACTIVE, S.ACTIVE, S.ACTIVE, S.CHURNED, S.CHURNED]


def test_the_bundled_mix_for_fixed_draws(builtin: LifecycleConfig) -> None:
    # cumulative: NewSignup .10, Active .65, ChurnRisk .73, Churned .80,
    # UpgradePending .85, PaymentFailed .90, PowerUser 1
    draws = [0.05, 0.11, 0.64, 0.70, 0.75, 0.82, 0.87, 0.95]
    assert [state_for_generated(d, builtin.mix).value for d in draws] == [
        "NewSignup", "Active", "Active", "ChurnRisk", "Churned", "UpgradePending", "PaymentFailed", "PowerUser"]


def test_the_empirical_mix_matches_the_weights(builtin: LifecycleConfig) -> None:
    counts = dict.fromkeys(LifecycleState, 0)
    for i in range(10_000):
        counts[state_for_generated(unit_draw("seed-42", f"user:{i}", "lifecycle"), builtin.mix)] += 1
    for state, weight in builtin.mix.items():
        assert abs(counts[state] / 10_000 - weight) < 0.02, state


def test_a_zero_weight_is_never_drawn() -> None:
    mix = parse_mix({"Active": 1, "Churned": 0})
    assert {state_for_generated(unit_draw("z", i), mix) for i in range(500)} == {S.ACTIVE}


@pytest.mark.parametrize("mix,field,message", [
    ({"Active": -1}, "mix.Active", "must be a number >= 0, got -1"),
    ({"Active": True}, "mix.Active", "must be a number >= 0, got True"),
    ({"Active": float("nan")}, "mix.Active", "must be a number >= 0, got nan"),
    ({"Active": "0.5"}, "mix.Active", "must be a number >= 0, got '0.5'"),
    ({"Active": 0, "Churned": 0}, "mix", "needs at least one state with a weight above zero"),
    ({}, "mix", "needs at least one state with a weight above zero"),
    ({"Active": 1, "active": 1}, "mix.active", "Active is given twice"),
    (["Active"], "mix", "must be a mapping of lifecycle state to number, e.g. {Active: 0.6}"),
])
def test_a_bad_mix_names_the_field(mix: object, field: str, message: str) -> None:
    with pytest.raises(LifecycleError) as err:
        parse_mix(mix)  # type: ignore[arg-type]
    assert (err.value.field, err.value.message) == (field, message)


def test_an_unknown_state_in_the_mix_gets_a_suggestion() -> None:
    with pytest.raises(LifecycleError) as err:
        parse_mix({"Actve": 1})
    assert err.value.field == "mix.Actve" and "did you mean 'Active'?" in err.value.message


# -- the bundled config ---------------------------------------------------------------------------

def test_the_bundled_config(builtin: LifecycleConfig) -> None:
    assert builtin.default_state is S.ACTIVE
    assert {s.value: w for s, w in builtin.mix.items()} == {
        "NewSignup": 0.10, "Active": 0.55, "ChurnRisk": 0.08, "Churned": 0.07, "UpgradePending": 0.05,
        "PaymentFailed": 0.05, "PowerUser": 0.10}
    assert {s.value: r for s, r in builtin.rates.items()} == {
        "NewSignup": 0.5, "Active": 1.5, "ChurnRisk": 0.5, "Churned": 0.0, "UpgradePending": 1.5,
        "PaymentFailed": 0.3, "PowerUser": 4.0}
    assert [(r.name, r.from_state.value, r.to_state.value, r.after, r.condition and r.condition.text)
            for r in builtin.rules] == [
        ("trial_converts", "NewSignup", "Active", 7 * DAY, None),
        ("heavy_usage", "Active", "PowerUser", 30 * DAY, "login_count >= 100"),
        ("never_logged_in", "Active", "ChurnRisk", 30 * DAY, "login_count == 0"),
        ("upgrade_completes", "UpgradePending", "PowerUser", 3 * DAY, None),
        ("dunning_exhausted", "PaymentFailed", "Churned", 14 * DAY, "failed_payment_count > 0"),
        ("won_back_by_discount", "ChurnRisk", "Active", 7 * DAY, "metadata.discount_accepted == true"),
        ("retention_window_lapsed", "ChurnRisk", "Churned", 30 * DAY, None),
    ]


def test_every_state_has_billing_and_support_effects(builtin: LifecycleConfig) -> None:
    for state in LifecycleState:
        assert {"billing_status", "subscription_type"} <= set(builtin.effects["billing"][state]), state
        assert "support_tier" in builtin.effects["support"][state], state


CONTEXT = {"state": "X", "entered_at": "2026-01-08T00:00:00Z", "persona_id": "user:7", "now": "2026-02-01T00:00:00Z",
           "metadata": {"failed_payment_count": 2}}


@pytest.mark.parametrize("facet,state,expected", [
    ("billing", "NewSignup", {"billing_status": "trial", "subscription_type": "free_tier"}),
    ("billing", "Active", {"billing_status": "paid", "subscription_type": "premium"}),
    ("billing", "ChurnRisk", {"billing_status": "active", "discount_offer_available": True}),
    ("billing", "Churned", {"billing_status": "cancelled", "outstanding_balance": 0.0}),
    ("billing", "PaymentFailed", {"billing_status": "past_due", "last_payment_status": "failed",
                                  "failed_payment_count": 2, "past_due_since": "2026-01-08T00:00:00Z"}),
    ("billing", "UpgradePending", {"billing_status": "paid", "pending_plan": "enterprise"}),
    ("billing", "PowerUser", {"billing_status": "paid", "subscription_type": "premium", "billing_cycle": "annual"}),
    ("support", "NewSignup", {"support_tier": "basic", "onboarding_ticket_status": "open"}),
    ("support", "PowerUser", {"support_tier": "priority", "dedicated_support_agent": "true"}),
    ("support", "ChurnRisk", {"support_tier": "standard", "proactive_outreach_ticket": "open"}),
])
def test_the_bundled_effects(builtin: LifecycleConfig, facet: str, state: str, expected: dict) -> None:
    body = apply_effects({"user_id": 7}, builtin.effects[facet][parse_state(state)], CONTEXT)
    assert body["user_id"] == 7
    assert {k: body[k] for k in expected} == expected
    assert all(type(body[k]) is type(v) for k, v in expected.items())


def test_failed_payment_count_defaults_to_zero(builtin: LifecycleConfig) -> None:
    cells = builtin.effects["billing"][S.PAYMENT_FAILED]
    assert apply_effects({}, cells, {**CONTEXT, "metadata": {}})["failed_payment_count"] == 0


# -- effects and placeholders ---------------------------------------------------------------------

def test_a_whole_placeholder_keeps_its_type_and_text_is_written_out() -> None:
    context = {"state": "Active", "entered_at": "2026-01-01T00:00:00Z",
               "metadata": {"count": 3, "ratio": 0.25, "flag": True, "none": None, "plan": "pro"}}
    effects = {
        "count": "{{ metadata.count }}",
        "ratio": "{{metadata.ratio}}",
        "flag": "{{ metadata.flag }}",
        "missing": "{{ metadata.absent }}",
        "label": "{{ state }} since {{ entered_at }}",
        "text": "n={{ metadata.count }}, flag={{ metadata.flag }}, none=[{{ metadata.none }}]",
        "padded": " {{ metadata.count }}",
        "fixed": 12,
        "nested": {"plan": "{{ metadata.plan }}", "list": ["{{ state }}", 1]},
    }
    assert apply_effects({"id": 1}, effects, context) == {
        "id": 1,
        "count": 3,
        "ratio": 0.25,
        "flag": True,
        "missing": None,
        "label": "Active since 2026-01-01T00:00:00Z",
        "text": "n=3, flag=true, none=[]",
        "padded": " 3",
        "fixed": 12,
        "nested": {"plan": "pro", "list": ["Active", 1]},
    }


@pytest.mark.parametrize("template,metadata,expected", [
    ("{{ metadata.n | default(0) }}", {}, 0),
    ("{{ metadata.n | default(0) }}", {"n": None}, 0),
    ("{{ metadata.n | default(0) }}", {"n": 5}, 5),
    ("{{ metadata.n|default(-1.5) }}", {}, -1.5),
    ("{{ metadata.n | default('none') }}", {}, "none"),
    ('{{ metadata.n | default("a|b)") }}', {}, "a|b)"),
    ("{{ metadata.n | default(true) }}", {}, True),
    ("{{ metadata.n | default(null) }}", {}, None),
    ("count: {{ metadata.n | default(0) }}", {}, "count: 0"),
])
def test_the_default_filter(template: str, metadata: dict, expected: object) -> None:
    value = apply_effects({}, {"v": template}, {"metadata": metadata})["v"]
    assert value == expected and type(value) is type(expected)


def test_apply_effects_returns_a_new_dict() -> None:
    body, effects = {"a": 1, "nested": {"x": 1}}, {"b": {"c": "{{ state }}"}}
    out = apply_effects(body, effects, {"state": "Active"})
    assert out == {"a": 1, "nested": {"x": 1}, "b": {"c": "Active"}}
    assert body == {"a": 1, "nested": {"x": 1}} and effects == {"b": {"c": "{{ state }}"}}
    assert out["b"] is not effects["b"]


@pytest.mark.parametrize(
    "effects,field,message",
    [
        (
            {"note": "{{ status }}"},
            "effects.note",
            "unknown placeholder 'status' in '{{ status }}'; use one of: "
            "state, entered_at, persona_id, now, metadata.<key>",
        ),
        (
            {"n": "{{ metadata.n | upper }}"},
            "effects.n",
            "unknown filter 'upper' in '{{ metadata.n | upper }}'; "
            "the only filter is default(value), e.g. '{{ metadata.n | default(0) }}'",
        ),
        (
            {"n": "{{ metadata.n | default }}"},
            "effects.n",
            "default needs a value in '{{ metadata.n | default }}'; "
            "the only filter is default(value), e.g. '{{ metadata.n | default(0) }}'",
        ),
        (
            {"n": "{{ metadata.n | default(other) }}"},
            "effects.n",
            "default(...) takes one literal value such as 0, 'none', true or null, "
            "in '{{ metadata.n | default(other) }}'",
        ),
        (
            {"n": "{{ metadata.n | default(1, 2) }}"},
            "effects.n",
            "default(...) takes one literal value such as 0, 'none', true or null, "
            "in '{{ metadata.n | default(1, 2) }}'",
        ),
        ({"n": "since {{ entered_at"}, "effects.n", "'{{' without a closing '}}' in 'since {{ entered_at'"),
        (
            {"n": "{{ }}"},
            "effects.n",
            "'{{ }}' is not a placeholder such as '{{ metadata.failed_payment_count | default(0) }}'",
        ),
        (
            {"deep": {"list": ["ok", "{{ nope }}"]}},
            "effects.deep.list[1]",
            "unknown placeholder 'nope' in '{{ nope }}'; use one of: "
            "state, entered_at, persona_id, now, metadata.<key>",
        ),
    ],
)
def test_bad_placeholders_fail_validation(effects: dict, field: str, message: str) -> None:
    with pytest.raises(LifecycleError) as err:
        validate_effects(effects)
    assert (err.value.field, err.value.message) == (field, message)


def test_an_unknown_placeholder_fails_when_the_config_loads() -> None:
    data = {"effects": {"billing": {"active": {"billing_status": "paid", "note": "in {{ stat }}"}}}}
    with pytest.raises(LifecycleError) as err:
        load_lifecycle_config(data)
    assert err.value.field == "effects.billing.active.note"
    assert err.value.message.startswith("unknown placeholder 'stat' in 'in {{ stat }}'")


# -- loading a config -----------------------------------------------------------------------------

def test_a_config_with_aliases_and_defaults() -> None:
    config = load_lifecycle_config({
        "default_state": "churn_risk",
        "mix": {"active": 3, "PowerUser": 1},
        "rules": [{"from": "Active", "to": "PowerUser", "after": "2w"}],
        "effects": {"billing": {"power_user": {"$scope": "latest", "tier": "gold"}}},
        "rates": {"active": 2},
    })
    assert config == LifecycleConfig(
        default_state=S.CHURN_RISK, mix={S.ACTIVE: 3.0, S.POWER_USER: 1.0},
        rules=[TransitionRule(S.ACTIVE, S.POWER_USER, timedelta(weeks=2), None, "Active->PowerUser")],
        effects={"billing": {S.POWER_USER: {"$scope": "latest", "tier": "gold"}}}, rates={S.ACTIVE: 2.0})
    assert load_lifecycle_config({}) == LifecycleConfig(S.ACTIVE, {S.ACTIVE: 1.0}, [], {}, {})


@pytest.mark.parametrize(
    "data,field,message",
    [
        (
            {"rule": []},
            "rule",
            "unknown key 'rule'; did you mean 'rules'? Allowed here: default_state, mix, rules, effects, rates",
        ),
        (
            {"rules": {"from": "Active"}},
            "rules",
            "must be a list of rules such as [{from: NewSignup, to: Active, after: 7d}]",
        ),
        ({"rates": {"Active": -2}}, "rates.Active", "must be a number >= 0, got -2"),
        (
            {"effects": {"billing": {"Gone": {}}}},
            "effects.billing.Gone",
            "'Gone' is not a lifecycle state. Valid states: "
            "NewSignup, Active, ChurnRisk, Churned, UpgradePending, PaymentFailed, PowerUser",
        ),
        (
            {"mix": {"Active": 1}, "colour": "red"},
            "colour",
            "unknown key 'colour'. Allowed here: default_state, mix, rules, effects, rates",
        ),
        (
            {"effects": {"billing": ["paid"]}},
            "effects.billing",
            "must be a mapping of lifecycle state to {field: value}",
        ),
        (
            {"effects": {"billing": {"Active": "paid"}}},
            "effects.billing.Active",
            "must be a mapping of response field to value",
        ),
    ],
)
def test_a_bad_config_names_the_field(data: dict, field: str, message: str) -> None:
    with pytest.raises(LifecycleError) as err:
        load_lifecycle_config(data)
    assert (err.value.field, err.value.message) == (field, message)
