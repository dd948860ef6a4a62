"""LLM relationship proposals for the id fields the heuristics cannot settle, against a real
loopback chat-completions server: listed with their confidence, applied above the threshold,
accepted through the API (stored now, applied at the next start), heuristics only offline."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from conftest import ROOT
from llm_fixture import example, llm_server, schema_of  # noqa: F401
from mockverse.ai.provider import Artefacts
from mockverse.store.sqlite import SQLiteStore

JSON = {"Content-Type": "application/json"}   # admin writes say JSON, also without a body

SPEC = str(ROOT / "tests" / "fixtures" / "specs" / "helpdesk.yaml")
WORLD = "/api/v1/consistency/world"
KEY = "sk-relations-secret-0042"
# what the model answers per field: (target, confidence, reason)
ANSWERS = {"assignee_id": ("agent", 0.93, "an assignee of a helpdesk ticket is the agent working on it"),
           "reviewer_ref": ("agent", 0.55, "a reviewer is probably another agent"),
           "folder_id": ("none", 0.9, "no folder type in this API")}


def responder(body: dict) -> dict:
    name, schema = schema_of(body)
    if name != "mockverse_relationship":
        return {"content": json.dumps(example(schema or {"type": "object"}))}
    prompt = body["messages"][-1]["content"]
    field = re.search(r"has the field '([^']+)'", prompt).group(1)
    target, confidence, reason = ANSWERS[field]
    return {"content": json.dumps({"target": target, "confidence": confidence, "reason": reason})}


def config(tmp_path: Path, url: str) -> str:
    path = tmp_path / "ai.yaml"
    path.write_text(f"ai:\n  base_url: {url}\n  model: test-model\n  relationship_threshold: 0.8\n")
    return str(path)


def proposals(server) -> dict[str, dict]:
    return {p["id"]: p for p in server.client.get(WORLD).json()["relationship_proposals"]}


def test_proposals_listed_threshold_applied_and_accepted_at_next_start(app_server, llm_server, tmp_path):  # noqa: F811
    llm_server.responder = responder
    store = tmp_path / "state.db"
    server = app_server("--spec", SPEC, "--config", config(tmp_path, llm_server.url), store=store,
                          env={"OPENAI_API_KEY": KEY})
    assert llm_server.calls == 3      # one call per unsettled field: assignee_id, reviewer_ref, folder_id
    prompts = {re.search(r"has the field '([^']+)'", r["body"]["messages"][-1]["content"]).group(1): r
               for r in llm_server.requests}
    assert sorted(prompts) == ["assignee_id", "folder_id", "reviewer_ref"]
    asked = prompts["assignee_id"]["body"]["response_format"]["json_schema"]
    assert asked["name"] == "mockverse_relationship"
    assert asked["schema"]["properties"]["target"]["enum"] == ["agent", "ticket", "none"]
    assert "guessed a type 'assignee'" in prompts["assignee_id"]["body"]["messages"][-1]["content"]

    world = server.client.get(WORLD).json()
    assert world["inference"] == "llm" and world["relationship_threshold"] == 0.8
    found = proposals(server)
    assert {k: (p["target"], p["confidence"], p["status"], p["applied"], p["source"]) for k, p in found.items()} == {
        "ticket.assignee_id": ("agent", 0.93, "applied", True, "llm"),
        "ticket.reviewer_ref": ("agent", 0.55, "proposed", False, "llm"),
        "ticket.folder_id": (None, 0.9, "proposed", False, "llm")}
    assert found["ticket.assignee_id"]["reason"] == ANSWERS["assignee_id"][2]
    assert found["ticket.assignee_id"]["heuristic_target"] == "assignee"
    links = {r["id"]: r for r in world["relationships"]}
    applied = links["ticket.assignee_id->agent"]
    assert applied["source_of_inference"] == "llm" and applied["used_as"] == "reference"
    assert applied["confidence"] == 0.93
    assert "ticket.assignee_id->assignee" not in links          # the heuristics' undefined guess is replaced
    assert "assignee" not in [t["name"] for t in world["entity_types"]]
    assert "ticket.folder_id->folder" in links                  # a proposal of no target changes nothing

    # the applied relationship fills the field with agents that exist; the proposed one does not
    tickets = server.client.get("/tickets").json()
    assert len(tickets) == 50   # the whole collection: the list declares no paging
    for ticket in tickets:
        assert server.client.get(f"/agents/{ticket['assignee_id']}").status_code == 200
    before = server.client.get("/tickets/1").content

    # accepting: unknown ids and proposals without a target are problems
    r = server.client.post(f"{WORLD}/relationships/ticket.nothing/accept", headers=JSON)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "id"
    assert sorted(r.json()["allowed"]) == ["ticket.assignee_id", "ticket.folder_id", "ticket.reviewer_ref"]
    r = server.client.post(f"{WORLD}/relationships/ticket.folder_id/accept", headers=JSON)
    assert r.status_code == 422 and r.json()["field"] == "id"
    r = server.client.post(f"{WORLD}/relationships/ticket.reviewer_ref/accept", headers=JSON)
    assert r.status_code == 200
    accepted = r.json()
    assert (accepted["status"], accepted["applied"]) == ("accepted", False)
    assert accepted["note"] == "accepted; applied when the server next starts"
    assert server.client.get("/tickets/1").content == before    # a running server keeps its world's shape

    server.restart()
    assert llm_server.calls == 3      # frozen: the proposals come from the store
    found = proposals(server)
    assert (found["ticket.reviewer_ref"]["status"], found["ticket.reviewer_ref"]["applied"]) == ("accepted", True)
    links = {r["id"]: r for r in server.client.get(WORLD).json()["relationships"]}
    assert links["ticket.reviewer_ref->agent"]["used_as"] == "reference"
    for ticket in server.client.get("/tickets").json():
        assert server.client.get(f"/agents/{ticket['reviewer_ref']}").status_code == 200

    # a second process on the same store serves the same world, byte for byte, without asking again
    other = app_server("--spec", SPEC, "--config", config(tmp_path, llm_server.url), store=store,
                         env={"OPENAI_API_KEY": KEY})
    assert other.client.get("/tickets/3").content == server.client.get("/tickets/3").content
    assert llm_server.calls == 3
    for s in (server, other):
        assert KEY not in s.log() and KEY not in s.client.get(WORLD).text


def test_offline_the_world_is_heuristics_only(app_server):
    server = app_server("--spec", SPEC)
    world = server.client.get(WORLD).json()
    assert world["inference"] == "heuristics" and world["relationship_proposals"] == []
    links = {r["id"] for r in world["relationships"]}
    assert links == {"ticket.assignee_id->assignee", "ticket.folder_id->folder"}
    r = server.client.post(f"{WORLD}/relationships/ticket.reviewer_ref/accept", headers=JSON)
    assert r.status_code == 404 and r.json()["field"] == "id"
    assert "heuristics" in r.json()["detail"]


def test_llm_down_at_start_serves_the_heuristic_world(app_server, tmp_path):
    from conftest import free_port

    server = app_server("--spec", SPEC, "--config", config(tmp_path, f"http://127.0.0.1:{free_port()}/v1"))
    world = server.client.get(WORLD).json()
    assert world["inference"] == "llm" and world["relationship_proposals"] == []
    assert world["relationship_inference"]["candidates"] == 3 and world["relationship_inference"]["answered"] == 0
    assert "cannot reach the LLM server" in world["relationship_inference"]["error"]
    assert {r["id"] for r in world["relationships"]} == {"ticket.assignee_id->assignee", "ticket.folder_id->folder"}
    assert server.client.get("/tickets/1").status_code == 200


def test_a_proposal_stored_first_by_another_worker_wins(app_server, llm_server, tmp_path):  # noqa: F811
    store = tmp_path / "state.db"
    spec_hash = hashlib.blake2b(Path(SPEC).read_bytes(), digest_size=16).hexdigest()
    first = {"target": "agent", "confidence": 0.97, "reason": "stored first by another worker"}

    def racing(body: dict) -> dict:   # while this server waits for its answer, another worker stores one
        prompt = body["messages"][-1]["content"] if schema_of(body)[0] == "mockverse_relationship" else ""
        if "has the field 'assignee_id'" in prompt:
            key = f"ai:relation:{Artefacts.key(spec_hash, 'ticket', 'assignee_id')}"
            SQLiteStore(str(store)).put_setting("_world", key, first)
        return responder(body)

    llm_server.responder = racing
    server = app_server("--spec", SPEC, "--config", config(tmp_path, llm_server.url), store=store)
    found = proposals(server)["ticket.assignee_id"]
    assert (found["target"], found["confidence"], found["reason"]) == ("agent", 0.97, "stored first by another worker")
    assert (found["status"], found["applied"]) == ("applied", True)
    assert proposals(server)["ticket.reviewer_ref"]["reason"] == ANSWERS["reviewer_ref"][2]   # no race there: its own
