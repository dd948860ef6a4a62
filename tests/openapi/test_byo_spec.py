"""Bring your own API: every shared real-world spec served as a coherent persona world.

One server process per spec serves all of that spec's tests (a second one only checks
that another process answers with the same bytes). Run with ``-s`` to see, per spec, how
many GET operations were walked and validated, and which README relationships the world
view shows with what evidence.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

import orjson
import pytest
from test_spec import EXPECTED, NESTING

from conftest import ROOT, AppServer, Server, required_value, run_main
from mockverse.cli import main as cli_main
from mockverse.openapi import load_spec
from mockverse.openapi.jsonschema import validator_for

SPECS = Path("/work/shared/specs")
FIXTURES = ROOT / "tests" / "fixtures" / "specs"
NAMES = sorted(EXPECTED)
_loaded: dict = {}


def spec_of(name: str):
    if name not in _loaded:
        _loaded[name] = load_spec(SPECS / name)
    return _loaded[name]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """served(name) -> the one server of that spec in this module (built on first use) in process;
    served(name, second=True) -> a `mockverse serve` process of it, to compare bytes across processes."""
    servers: dict[str, Server | AppServer] = {}

    def get(name: str, second: bool = False) -> Server | AppServer:
        key = name + ("#2" if second else "")
        if key not in servers:
            directory = tmp_path_factory.mktemp(key.replace(".", "_").replace("#", "_"))
            # these tests read bodies; tests/http/test_validation.py checks auth
            args = ("--spec", str(SPECS / name), "--log-level", "warning", "--no-auth-check")
            servers[key] = Server(directory, *args).start() if second else AppServer(directory, *args)
            servers[key].client.headers.update({p.name: required_value(p) for op in spec_of(name).operations
                                                for p in op.parameters if p.location == "header" and p.required})
        return servers[key]

    yield get
    for server in servers.values():
        server.stop()


def world_of(server: Server | AppServer) -> dict:
    response = server.client.get("/api/v1/consistency/world")
    assert response.status_code == 200, response.text
    return response.json()


def get_requests(name: str, world: dict) -> list[tuple[str, str, dict]]:
    """(template, concrete URL, response schema) for every GET with a 2xx JSON response, path
    parameters filled with ids of entities the world says exist (a child with its own parent)."""
    spec = spec_of(name)
    ops = {(op.method, op.path): op for op in spec.operations}
    samples = {t["name"]: t["sample"] for t in world["entity_types"]}
    parent_of = {t["name"]: (t["parent"] or {}).get("type") for t in world["entity_types"]}
    out = []
    for served in world["served"]:
        op = ops[(served["method"], served["path"])]
        success = op.success()
        if op.method != "GET" or success is None or not success.status.startswith("2") or success.schema is None \
                or "json" not in (success.media_type or ""):
            continue
        values: dict[str, str] = {}
        params = list(served["params"].items())
        for index in range(len(params) - 1, -1, -1):
            param, kind = params[index]
            if param in values:
                continue
            assert samples[kind], f"{name}: no {kind} exists to fill {{{param}}} of {op.path}"
            sample = samples[kind][0]
            values[param] = str(sample["id"])
            if index > 0 and params[index - 1][1] == parent_of[kind] and sample["parent_id"] is not None:
                values[params[index - 1][0]] = str(sample["parent_id"])
        url = re.sub(r"\{([^}]+)\}", lambda m, values=values: values.get(m.group(1), "unknown"), op.path)
        required = {p.name: required_value(p) for p in op.parameters if p.location == "query" and p.required}
        if required:
            url += "?" + urlencode(required)
        out.append((op.path, url, success.schema))
    return out


# -- every GET validates ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_every_get_operation_returns_a_body_valid_for_its_schema(served, name):
    server = served(name)
    requests = get_requests(name, world_of(server))
    failures = []
    for template, url, schema in requests:
        response = server.client.get(url)
        if response.status_code // 100 != 2:
            failures.append(f"GET {url} ({template}): {response.status_code} {response.text[:200]}")
            continue
        errors = list(validator_for(schema).iter_errors(response.json()))
        if errors:
            failures.append(f"GET {url} ({template}): {errors[0].message[:200]} at {list(errors[0].absolute_path)}")
    print(f"\n{name}: {len(requests) - len(failures)} of {len(requests)} GET operations valid")
    assert requests and not failures, "\n".join(failures)


@pytest.mark.parametrize("name", NAMES)
def test_a_second_process_answers_with_the_same_bytes(served, name):
    first, second = served(name), served(name, second=True)
    urls = [url for _, url, _ in get_requests(name, world_of(first))][:12]
    for url in urls:
        a, b = first.client.get(url), second.client.get(url)
        assert (a.status_code, a.content) == (b.status_code, b.content), url


# -- the world view ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_the_world_view_shows_the_readme_relationships_with_evidence(served, name):
    world = world_of(served(name))
    links = world["relationships"]
    missing = []
    print(f"\n{name}:")
    for source, target, field in EXPECTED[name]:
        found = _find(links, source, target, field)
        if found is None:
            missing.append((source, target, field))
            continue
        print(f"  {source} -> {target} ({field}): {found['id']} [{found['kind']}, {found['confidence']}, "
              f"{found['used_as']}] evidence: {'; '.join(found['evidence'])}")
    assert not missing, f"{name}: not in the world view: {missing}"
    for entity in world["entity_types"]:
        assert entity["population"] or entity["per_parent"], entity["name"]


def _find(links: list[dict], source: str, target: str, field: str) -> dict | None:
    for r in links:
        if field == NESTING:
            nested = any(e.startswith("path nesting") for e in r["evidence"])
            same_way = (r["source"], r["target"]) == (source, target)
            other_way = (r["source"], r["target"]) == (target, source) and r["kind"] in ("belongs_to", "many_to_many")
            if nested and (same_way or other_way):
                return r
        elif (r["source"], r["target"]) == (source, target) and r["field"] is not None:
            if field in (r["field"], r["field"].split(".")[-1].removesuffix("[]")):
                return r
    return None


def test_world_view_of_xero_shows_parents_references_and_id_shapes(served):
    world = world_of(served("xero.yaml"))
    types = {t["name"]: t for t in world["entity_types"]}
    assert types["task"]["parent"] == {"type": "project", "field": "projectId", "relationship": "has_task"}
    assert types["task"]["per_parent"] == [0, 4] and types["project"]["population"] == 50
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", types["project"]["id_example"]
    )
    links = {r["id"]: r for r in world["relationships"]}
    assert links["task.projectId->project"]["used_as"] == "parent"
    assert links["time_entry.taskId->task"]["used_as"] == "reference"
    assert "GET /Projects/{projectId}/Tasks/{taskId}" in types["task"]["operations"]


# -- coherence ---------------------------------------------------------------------------------------------
def test_xero_tasks_listed_under_a_project_are_the_tasks_served_by_their_own_path(served):
    c = served("xero.yaml").client
    checked = 0
    for project in c.get("/Projects").json()["items"][:6]:
        pid = project["projectId"]
        tasks = c.get(f"/Projects/{pid}/Tasks").json()["items"]
        for task in tasks:
            assert task["projectId"] == pid
            assert c.get(f"/Projects/{pid}/Tasks/{task['taskId']}").json() == task
            checked += 1
        for entry in c.get(f"/Projects/{pid}/Time").json()["items"]:
            assert entry["projectId"] == pid
            assert entry.get("taskId") is None or entry["taskId"] in [
                t["taskId"] for t in tasks
            ]  # a task of its own project
    assert checked > 0
    other = c.get("/Projects").json()["items"][1]["projectId"]
    some_task = next(t for p in c.get("/Projects").json()["items"] if p["projectId"] != other
                     for t in c.get(f"/Projects/{p['projectId']}/Tasks").json()["items"])
    assert c.get(f"/Projects/{other}/Tasks/{some_task['taskId']}").status_code == 404  # not that project's task


def test_spotify_album_tracks_agree_with_each_track_and_its_album(served):
    c = served("spotify.yaml").client
    sample = next(t for t in world_of(served("spotify.yaml"))["entity_types"] if t["name"] == "album")["sample"][0]
    album = c.get(f"/albums/{sample['id']}").json()   # GET /albums requires ?ids=, as Spotify's does
    listed = c.get(f"/albums/{album['id']}/tracks").json()
    assert [t["id"] for t in listed["items"]] == [t["id"] for t in album["tracks"]["items"]]
    assert listed["total"] == album["total_tracks"] == len(listed["items"])
    for simple in listed["items"]:
        full = c.get(f"/tracks/{simple['id']}").json()
        assert full["album"]["id"] == album["id"] and full["album"]["name"] == album["name"]
        assert {k: full[k] for k in simple if k in full} == {k: v for k, v in simple.items() if k in full}


def test_petstore_users_are_found_by_username_and_orders_point_at_pets(served):
    c = served("petstore.yaml").client
    user = c.get("/user/" + world_of(served("petstore.yaml"))["entity_types"][0]["sample"][0]["id"]).json()
    assert c.get(f"/user/{user['username']}").json() == user
    order = c.get("/store/order/3").json()
    assert c.get(f"/pet/{order['petId']}").status_code == 200


# -- writes --------------------------------------------------------------------------------------------------
def test_xero_writes_are_validated_and_kept(served):
    c = served("xero.yaml").client
    bad = c.post("/Projects", json={"name": 5, "estimateAmount": "lots"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in bad.json()["errors"]] == ["$.estimateAmount", "$.name"]
    created = c.post("/Projects", json={"name": "New website", "estimateAmount": 1200.5})
    assert created.status_code == 201
    project = created.json()
    assert c.get(created.headers["location"]).json() == project and project["name"] == "New website"
    task = c.post(f"/Projects/{project['projectId']}/Tasks",
                  json={"name": "Design", "rate": {"currency": "USD", "value": 100}, "chargeType": "TIME"}).json()
    assert task["projectId"] == project["projectId"]
    assert c.get(f"/Projects/{project['projectId']}/Tasks").json()["items"][-1] == task


# -- config corrections and errors --------------------------------------------------------------------------------
def test_config_corrects_the_inferred_world(tmp_path, capsys):
    config = tmp_path / "world.yaml"
    config.write_text("world:\n  exclude: [contact]\n  entities:\n    project: {population: 7}\n"
                      "  relationships:\n    - {source: task, target: project_user, field: assigneeId}\n")
    assert cli_main(["world", "--spec", str(SPECS / "xero.yaml"), "--config", str(config), "--json"]) == 0
    world = orjson.loads(capsys.readouterr().out)
    types = {t["name"]: t for t in world["entity_types"]}
    assert "contact" not in types and types["project"]["population"] == 7
    links = {r["id"]: r for r in world["relationships"]}
    assert "project.contactId->contact" not in links
    assert links["task.assigneeId->project_user"]["used_as"] == "reference"
    config.write_text("world:\n  exclude: [contacts]\n")
    assert cli_main(["world", "--spec", str(SPECS / "xero.yaml"), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "world.exclude[0]: 'contacts'" in err and "did you mean 'contact'?" in err
    config.write_text("world:\n  entities:\n    project: {populaton: 7}\n")
    assert cli_main(["world", "--spec", str(SPECS / "xero.yaml"), "--config", str(config)]) == 2
    assert "did you mean 'population'" in capsys.readouterr().err


def test_world_command_prints_a_readable_table(capsys):
    assert cli_main(["world", "--spec", str(SPECS / "paypal.json")]) == 0
    out = capsys.readouterr().out
    assert "subscription->transaction" in out and "path nesting /v1/billing/subscriptions/{id}/transactions" in out
    assert re.search(r"transaction\s+path\s+\[0, 4\] per subscription", out)


@pytest.mark.parametrize(
    "fixture, pointer",
    [
        ("malformed.yaml", ": /: invalid YAML at line"),
        ("dangling_ref.yaml", ": /components/schemas/Pet/properties/owner/$ref:"),
    ],
)
@pytest.mark.parametrize("command", ["serve", "world"])
def test_a_spec_that_cannot_be_loaded_is_a_clear_error(tmp_path, fixture, pointer, command):
    spec = FIXTURES / fixture
    code, _, err = run_main(command, "--spec", str(spec), cwd=tmp_path)
    assert code == 2
    assert "Traceback" not in err and str(spec) in err and pointer in err
