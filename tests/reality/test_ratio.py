"""Reality ratio resolution: header > route rule > schedule > default, and the bands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mockverse.reality.ratio import (
    RealitySettings,
    RouteRule,
    Schedule,
    SettingsError,
    band,
    compile_pattern,
    parse_settings,
    resolve_ratio,
    settings_to_dict,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
NOW = START + timedelta(days=15)
SCHEDULE = Schedule(from_ratio=0.2, to_ratio=0.9, over=timedelta(days=30), start=None)


def resolve(path: str, settings: RealitySettings, header: str | None = None, now: datetime = NOW) -> tuple[float, dict]:
    return resolve_ratio(path, settings, now=now, clock_start=START, header=header)


# --- precedence ------------------------------------------------------------------

HEADER = "0.95"
ROUTES = (RouteRule("/users/*", 0.4),)


@pytest.mark.parametrize(
    ("header", "routes", "schedule", "expected_ratio", "expected_source"),
    [
        (HEADER, ROUTES, SCHEDULE, 0.95, "header"),
        (HEADER, ROUTES, None, 0.95, "header"),
        (HEADER, (), SCHEDULE, 0.95, "header"),
        (HEADER, (), None, 0.95, "header"),
        (None, ROUTES, SCHEDULE, 0.4, "route"),
        (None, ROUTES, None, 0.4, "route"),
        (None, (), SCHEDULE, 0.55, "schedule"),
        (None, (), None, 0.1, "default"),
    ],
)
def test_precedence_in_every_combination(header, routes, schedule, expected_ratio, expected_source) -> None:
    settings = RealitySettings(default_ratio=0.1, routes=routes, schedule=schedule)
    ratio, explain = resolve("/users/7", settings, header=header)
    assert ratio == expected_ratio
    assert explain["source"] == expected_source
    assert explain["ratio"] == expected_ratio
    assert [c["source"] for c in explain["considered"] if c["used"]] == [expected_source]
    assert explain["considered"][-1] == {"source": "default", "ratio": 0.1, "used": expected_source == "default"}


def test_a_route_that_does_not_match_falls_through_to_the_schedule() -> None:
    settings = RealitySettings(default_ratio=0.1, routes=ROUTES, schedule=SCHEDULE)
    ratio, explain = resolve("/orders/7", settings)
    assert (ratio, explain["source"], explain["pattern"]) == (0.55, "schedule", None)
    assert explain["considered"][0] == {
        "source": "route",
        "pattern": "/users/*",
        "ratio": 0.4,
        "matches": False,
        "used": False,
    }


def test_the_explanation_names_the_pattern_and_band() -> None:
    settings = RealitySettings(routes=(RouteRule("/users/**", 0.8), RouteRule("/users/*", 0.5)))
    ratio, explain = resolve("/users/7", settings)
    assert ratio == 0.5
    assert {k: explain[k] for k in ("ratio", "source", "pattern", "band")} == {
        "ratio": 0.5, "source": "route", "pattern": "/users/*", "band": "recorded",
    }
    assert [(c["pattern"], c["matches"], c["used"]) for c in explain["considered"][:2]] == [
        ("/users/**", True, False),
        ("/users/*", True, True),
    ]


@pytest.mark.parametrize("bad", ["abc", "", "1.5", "-0.1", "nan", "1e-3", "0,5"])
def test_an_invalid_header_is_an_error_naming_the_header(bad: str) -> None:
    with pytest.raises(SettingsError) as error:
        resolve("/users/7", RealitySettings(default_ratio=0.3), header=bad)
    assert error.value.field == "X-Mockverse-Reality"
    assert "from 0 to 1" in error.value.message


def test_header_values_at_the_ends_are_accepted() -> None:
    assert resolve("/", RealitySettings(), header="0")[0] == 0.0
    assert resolve("/", RealitySettings(), header=" 1 ")[0] == 1.0
    assert resolve("/", RealitySettings(), header=".25")[0] == 0.25


# --- patterns --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/users/*", "/users/1", True),
        ("/users/*", "/usersX", False),
        ("/users/*", "/users/1/orders", False),
        ("/users/*", "/users", False),
        ("/users/*", "/users/1/", True),
        ("/users/*", "/users/1?expand=orders", True),
        ("/users/{id}", "/users/1", True),
        ("/users/{id}/orders", "/users/1/orders", True),
        ("/users/**", "/users", True),
        ("/users/**", "/users/1/orders/2", True),
        ("/users/**", "/usersX/1", False),
        ("/**", "/", True),
        ("/**", "/anything/at/all", True),
        ("/**/orders", "/users/1/orders", True),
        ("/**/orders", "/orders", True),
        ("/**/orders", "/users/1/orders/2", False),
        ("/", "/", True),
        ("/", "/users", False),
        ("/v1*/users", "/v1.2/users", True),
        ("/v1*/users", "/v2/users", False),
        ("/files/*.json", "/files/a.json", True),
        ("/files/*.json", "/files/a.yaml", False),
        ("/Users/*", "/users/1", False),
    ],
)
def test_patterns_are_segment_aware(pattern: str, path: str, matches: bool) -> None:
    assert compile_pattern(pattern).matches(path) is matches


@pytest.mark.parametrize(
    ("routes", "path", "winner"),
    [
        (("/users/*", "/users/1"), "/users/1", "/users/1"),
        (("/users/1", "/users/*"), "/users/1", "/users/1"),
        (("/users/**", "/users/*"), "/users/1", "/users/*"),
        (("/**", "/users/**"), "/users/1", "/users/**"),
        (("/*/orders", "/users/*"), "/users/orders", "/users/*"),
        (("/users/*/orders", "/users/**"), "/users/1/orders", "/users/*/orders"),
        (("/users/*", "/users/{id}"), "/users/1", "/users/*"),  # equal: the first listed wins
        (("/users/{id}", "/users/*"), "/users/1", "/users/{id}"),
        (("/v*/users", "/*/users"), "/v1/users", "/v*/users"),  # literal characters beat a bare '*'
        (("/*/users", "/v1/users"), "/v1/users", "/v1/users"),
    ],
)
def test_the_most_specific_pattern_wins(routes: tuple[str, ...], path: str, winner: str) -> None:
    settings = RealitySettings(routes=tuple(RouteRule(p, 0.1 * (i + 1)) for i, p in enumerate(routes)))
    assert resolve(path, settings)[1]["pattern"] == winner


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        ("users/*", "starting with '/'"),
        ("", "starting with '/'"),
        ("/users//orders", "empty segment"),
        ("/users/", "empty segment"),
        ("/users/a b", "may only use"),
        ("/users/?id=1", "may only use"),
        ("/users/**x", "'**' must be a whole segment"),
        ("/users/***", "'**' must be a whole segment"),
        ("/users/{id", "unbalanced"),
        ("/users/{}", "unbalanced or empty"),
    ],
)
def test_malformed_patterns_are_refused(pattern: str, says: str) -> None:
    with pytest.raises(SettingsError) as error:
        compile_pattern(pattern)
    assert says in error.value.message


# --- schedule --------------------------------------------------------------------


def test_the_schedule_at_half_its_span_is_exactly_the_midpoint() -> None:
    settings = RealitySettings(schedule=SCHEDULE)
    assert resolve("/x", settings, now=START + timedelta(days=15))[0] == 0.55


def test_the_schedule_is_clamped_at_both_ends() -> None:
    settings = RealitySettings(schedule=SCHEDULE)
    assert resolve("/x", settings, now=START - timedelta(days=3))[0] == 0.2
    assert resolve("/x", settings, now=START)[0] == 0.2
    assert resolve("/x", settings, now=START + timedelta(days=30))[0] == 0.9
    assert resolve("/x", settings, now=START + timedelta(days=400))[0] == 0.9


def test_a_schedule_with_its_own_start_ignores_the_clock_start() -> None:
    own = Schedule(0.0, 1.0, timedelta(days=10), start=START + timedelta(days=10))
    ratio, explain = resolve("/x", RealitySettings(schedule=own), now=START + timedelta(days=12))
    assert ratio == 0.2
    assert explain["considered"][0]["start"] == "2026-01-11T00:00:00Z"
    assert explain["considered"][0]["over"] == "10d"


# --- bands -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r", "expected"),
    [
        (0.0, "synthetic"),
        (0.29999, "synthetic"),
        (0.3, "recorded"),
        (0.69999, "recorded"),
        (0.7, "upstream"),
        (1.0, "upstream"),
    ],
)
def test_bands(r: float, expected: str) -> None:
    assert band(r) == expected


@pytest.mark.parametrize("bad", [-0.01, 1.01, float("nan")])
def test_band_refuses_ratios_outside_zero_to_one(bad: float) -> None:
    with pytest.raises(ValueError):
        band(bad)


# --- settings --------------------------------------------------------------------

FULL = {
    "default_ratio": 0.1,
    "routes": [{"pattern": "/users/*", "ratio": 0.5}, {"pattern": "/orders/**", "ratio": 1}],
    "schedule": {"from_ratio": 0.2, "to_ratio": 0.9, "over": "30d", "start": "2026-01-01T00:00:00Z"},
    "upstream": "https://api.example.com",
    "timeout": 2.5,
}


def test_settings_parse_into_typed_values() -> None:
    settings = parse_settings(FULL)
    assert settings == RealitySettings(
        default_ratio=0.1,
        routes=(RouteRule("/users/*", 0.5), RouteRule("/orders/**", 1.0)),
        schedule=Schedule(0.2, 0.9, timedelta(days=30), START),
        upstream="https://api.example.com",
        timeout=2.5,
    )


def test_empty_settings_are_the_defaults() -> None:
    assert parse_settings({}) == RealitySettings()


@pytest.mark.parametrize(
    "settings",
    [
        RealitySettings(),
        parse_settings(FULL),
        RealitySettings(schedule=Schedule(0.9, 0.0, timedelta(hours=1, minutes=30, seconds=2.5), None)),
        RealitySettings(schedule=Schedule(0.0, 1.0, timedelta(milliseconds=500), START + timedelta(microseconds=7))),
    ],
)
def test_settings_round_trip(settings: RealitySettings) -> None:
    assert parse_settings(settings_to_dict(settings)) == settings


def test_durations_are_written_readably() -> None:
    data = settings_to_dict(RealitySettings(schedule=Schedule(0.0, 1.0, timedelta(days=1, hours=1, minutes=30), None)))
    assert data["schedule"] == {"from_ratio": 0.0, "to_ratio": 1.0, "over": "1d1h30m", "start": None}


@pytest.mark.parametrize(
    ("data", "field", "says"),
    [
        ({"default_ratio": 1.5}, "default_ratio", "from 0 to 1"),
        ({"default_ratio": -0.1}, "default_ratio", "from 0 to 1"),
        ({"default_ratio": "0.5"}, "default_ratio", "must be a number from 0 to 1"),
        ({"default_ratio": True}, "default_ratio", "must be a number"),
        ({"default_ratio": float("inf")}, "default_ratio", "must be a number"),
        ({"default_ratio": None}, "default_ratio", "must be a number"),
        ({"routes": {"/users/*": 0.5}}, "routes", "must be a list"),
        (
            {"routes": [{"pattern": "/a", "ratio": 0.1}, {"pattern": "/b", "ratio": 2}]},
            "routes[1].ratio",
            "from 0 to 1",
        ),
        ({"routes": [{"pattern": "/a", "ratio": "high"}]}, "routes[0].ratio", "must be a number"),
        ({"routes": [{"pattern": "a/b", "ratio": 0.1}]}, "routes[0].pattern", "starting with '/'"),
        ({"routes": [{"pattern": ["/a"], "ratio": 0.1}]}, "routes[0].pattern", "starting with '/'"),
        ({"routes": [{"ratio": 0.1}]}, "routes[0].pattern", "is required"),
        (
            {"routes": [{"pattern": "/a", "ratio": 0.1}, {"pattern": "/a", "ratio": 0.2}]},
            "routes[1].pattern",
            "routes[0]",
        ),
        ({"routes": ["/a"]}, "routes[0]", "must be a mapping"),
        ({"schedule": {"from_ratio": 0.1, "to_ratio": 0.2}}, "schedule.over", "is required"),
        ({"schedule": {"from_ratio": 0.1, "to_ratio": 0.2, "over": "soon"}}, "schedule.over", "not a duration"),
        ({"schedule": {"from_ratio": 0.1, "to_ratio": 0.2, "over": "0s"}}, "schedule.over", "longer than zero"),
        ({"schedule": {"from_ratio": 0.1, "to_ratio": 7, "over": "1d"}}, "schedule.to_ratio", "from 0 to 1"),
        (
            {"schedule": {"from_ratio": 0.1, "to_ratio": 0.2, "over": "1d", "start": "yesterday"}},
            "schedule.start",
            "RFC 3339",
        ),
        ({"upstream": "api.example.com"}, "upstream", "http(s) URL"),
        ({"upstream": "ftp://api.example.com"}, "upstream", "http(s) URL"),
        ({"timeout": 0}, "timeout", "above 0"),
        ({"timeout": "3s"}, "timeout", "above 0"),
        ([], "reality", "must be a mapping"),
    ],
)
def test_bad_settings_name_the_field(data: object, field: str, says: str) -> None:
    with pytest.raises(SettingsError) as error:
        parse_settings(data)  # type: ignore[arg-type]
    assert error.value.field == field
    assert says in error.value.message


@pytest.mark.parametrize(
    ("data", "field", "suggestion"),
    [
        ({"defualt_ratio": 0.5}, "defualt_ratio", "did you mean 'default_ratio'?"),
        ({"routes": [{"patern": "/a", "ratio": 0.1}]}, "routes[0].patern", "did you mean 'pattern'?"),
        ({"schedule": {"from_ratio": 0, "to_ratio": 1, "ovr": "1d"}}, "schedule.ovr", "did you mean 'over'?"),
    ],
)
def test_unknown_keys_are_refused_with_a_suggestion(data: dict, field: str, suggestion: str) -> None:
    with pytest.raises(SettingsError) as error:
        parse_settings(data)
    assert error.value.field == field
    assert suggestion in error.value.message
    assert str(error.value).startswith(f"{field}: unknown key")
