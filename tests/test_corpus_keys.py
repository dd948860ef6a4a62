"""Path keys a person would use: each item path of tests/corpus_links.yaml's ``keys`` answers its entity when
addressed with the fields the specs' README names (``/repos/{owner}/{repo}`` by ``owner.login`` and ``name``).

`mockverse check` addresses every item path with the world's own key, so a world that answers ``/repos/stone26/1``
but not ``/repos/stone26/my-repo`` passes it. Here, for each listed key, a few entities are taken from a list answer
of their type (the world built as `mockverse check` builds it, in this process), and the item path is asked with
the listed fields' values, the parents' keys included; the key is held when every such answer is 2xx and shows
the same entity. The figure ``keys: [held, total]`` is a ratchet in tests/corpus_figures.json (it may rise, never
drop); re-record it with MOCKVERSE_RECORD_FIGURES=1, as the corpus ratchet is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mockverse.check import (
    Checker,
    Report,
    build_world,
    client_of,
    find_by_id,
    path_param,
    path_tokens,
    same_id,
    shows_key,
    walk_body,
)
from mockverse.openapi.paths import path_shape
from test_check_corpus import FIGURES, LINKS, RECORD, SPECS, _fraction, _matches, record

SAMPLES = 3     # entities tried per key


@dataclass
class Outcome:
    """Keys held of those listed for one spec, and the first failing request of each key not held."""

    held: int = 0
    total: int = 0
    failures: list[str] = field(default_factory=list)


def parse_key(line: str, field_path: str) -> tuple[str, str, list[str]]:
    """(README type, path parameter, field path) of one ``Type.param: field`` entry."""
    type_name, _, param = line.partition(".")
    return type_name, param, field_path.split(".")


def value_at(obj: Any, path: list[str]) -> Any:
    """The value at a dotted field path of an object (None where it has none)."""
    for part in path:
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


class KeyProbe:
    """Asks item paths of one world with the keys a person would use."""

    def __init__(self, checker: Checker, keys: dict[str, str], aliases: dict) -> None:
        self.checker = checker
        self.aliases = aliases
        self.keys = [parse_key(line, f) for line, f in keys.items()]

    def world_type(self, readme: str, param: str) -> str | None:
        """The world type a README type names whose item path has ``{param}``."""
        return next((row["name"] for row in self.checker.report.types if _matches(readme, row, self.aliases)
                     and f"{{{param}}}" in path_tokens(self.checker.types[row["name"]].item_path or "")), None)

    def person_field(self, type_name: str, param: str) -> list[str]:
        """The field a person addresses ``type_name``'s ``{param}`` with: the listed one, else its id."""
        for readme, key_param, path in self.keys:
            if key_param == param and self.world_type(readme, param) == type_name:
                return path
        return [self.checker.types[type_name].id_field]

    def owners(self, path: str) -> dict[int, str]:
        """The type each parameter of a path belongs to, by token position: the type whose item path is the
        shortest prefix of ``path`` ending at that parameter or at the run of parameters right after it."""
        tokens, out = path_tokens(path), {}
        for i, token in enumerate(tokens):
            if path_param(token) is None:
                continue
            j = i
            while j < len(tokens) and path_param(tokens[j]) is not None:
                owner = self.checker.item_paths.get(path_shape("/" + "/".join(tokens[:j + 1])))
                if owner is not None:
                    out[i] = owner
                    break
                j += 1
        return out

    def item(self, type_name: str, known: dict[str, object]) -> dict | None:
        """One entity as its item path answers it when addressed with the world's own keys."""
        entity = self.checker.types[type_name]
        op = self.checker.item_op(entity)
        if op is None or known.get(type_name) is None:
            return None
        call = self.checker.call(op, self.checker.fill(op, self.checker.bind(op.path), known))
        if not 200 <= call.status < 300:
            return None
        found = find_by_id(call.body, entity.id_field, known[type_name])
        if found is None and isinstance(call.body, dict) and not shows_key(op, entity):
            return call.body   # an item schema with no id field: its body is the entity's fields
        return found[1] if found is not None else None

    def listed(self, type_name: str) -> list[tuple[dict, dict[str, object]]]:
        """Up to SAMPLES (entity, ids of it and its ancestors by type) from list answers of the type."""
        checker, entity = self.checker, self.checker.types[type_name]
        ops = sorted((o for o in checker.spec.operations if o.method.upper() == "GET" and (
            o.path == entity.collection_path or checker.searches.get(o.path) == type_name
            or checker.listed_type(o.path) == type_name)), key=lambda o: o.path != entity.collection_path)
        out: list[tuple[dict, dict[str, object]]] = []
        for op in ops:
            bound = checker.bind(op.path)
            for known in checker.contexts(op, bound):
                call = checker.call(op, checker.fill(op, bound, known))
                listing = checker.listing(op, call.body, entity) if 200 <= call.status < 300 else None
                for obj in (listing[1] if listing else []):
                    if isinstance(obj, dict) and self.identity(type_name, obj) and len(out) < SAMPLES:
                        out.append((obj, {**known, type_name: obj.get(entity.id_field)}))
            if out:
                return out
        return self.served(type_name)

    def served(self, type_name: str) -> list[tuple[dict, dict[str, object]]]:
        """Up to SAMPLES (entity, ids by type) for a type no list serves (``GET /services`` declared as one
        object): ids of the world's samples, each as its item path answers it with the world's own key."""
        out = []
        for id in self.checker.ids[type_name][:SAMPLES]:
            known = self.checker.ancestors(type_name, id)
            obj = self.item(type_name, known)
            if obj is not None:
                out.append((obj, known))
        return out

    def url(self, type_name: str, obj: dict, known: dict[str, object]) -> str | None:
        """The item path of ``obj`` with every parameter, its ancestors' too, filled as a person would: with the
        listed key fields, else the id."""
        checker = self.checker
        op = checker.item_op(checker.types[type_name])
        if op is None:
            return None
        values = checker.fill(op, checker.bind(op.path), known)
        tokens = path_tokens(op.path)
        for i, owner in self.owners(op.path).items():
            name = path_param(tokens[i]) or ""
            source = obj if owner == type_name else self.item(owner, known)
            owner_param = path_param(path_tokens(checker.types[owner].item_path or "")[i]) or name
            value = value_at(source, self.person_field(owner, owner_param))
            if value is None or isinstance(value, (dict, list)):
                return None
            values[name] = str(value)
        return "/" + "/".join(values.get(path_param(t) or "", t) if path_param(t) else t for t in tokens)

    def identity(self, type_name: str, obj: dict) -> dict[str, object]:
        """The fields that tell one entity from another: its id, else (a guild member has none) the listed
        key fields of its type."""
        entity = self.checker.types[type_name]
        if obj.get(entity.id_field) is not None:
            return {entity.id_field: obj[entity.id_field]}
        paths = [path for readme, param, path in self.keys if self.world_type(readme, param) == type_name]
        return {".".join(path): value_at(obj, path) for path in paths if value_at(obj, path) is not None}

    def probe(self, readme: str, param: str) -> str | None:
        """None when the key holds, else the first request that failed and how."""
        type_name = self.world_type(readme, param)
        if type_name is None:
            return f"{readme}.{param}: no world type of that name has an item path with {{{param}}}"
        samples = self.listed(type_name)
        if not samples:
            return f"{readme}.{param}: no {type_name} in a list answer or the world's samples"
        entity = self.checker.types[type_name]
        for obj, known in samples:
            identity = self.identity(type_name, obj)
            url = self.url(type_name, obj, known)
            if url is None:
                return f"{readme}.{param}: {type_name} {identity} lacks a key field"
            response = self.checker.client.get(url, headers=self.checker.required_headers(f"GET {entity.item_path}"))
            if not 200 <= response.status_code < 300:
                return f"{readme}.{param}: GET {url} -> {response.status_code}"
            body = response.json() if "json" in response.headers.get("content-type", "") else None
            if not any(isinstance(node, dict) and all(same_id(value_at(node, k.split(".")), v)
                                                      for k, v in identity.items()) for _, node in walk_body(body, 2)):
                return f"{readme}.{param}: GET {url} -> {response.status_code} without {identity}"
        return None


def measure(spec: Path) -> Outcome:
    """Keys held of the README's for one spec's world."""
    expected = LINKS.get(spec.name) or {}
    keys = expected.get("keys") or {}
    outcome = Outcome(total=len(keys))
    if not keys:
        return outcome
    world = build_world(str(spec), "42")
    app = world.asgi_app()
    with world, client_of(world) as client:
        checker = Checker(app, client, Report(spec=str(spec), seed="42", title=app.state.spec.title))
        checker.seed_ids()
        probe = KeyProbe(checker, keys, expected.get("types") or {})
        for readme, param, _ in probe.keys:
            failure = probe.probe(readme, param)
            if failure is None:
                outcome.held += 1
            else:
                outcome.failures.append(failure)
    return outcome


KEYED = [p for p in SPECS if (LINKS.get(p.name) or {}).get("keys")]


def test_every_key_entry_is_well_formed():
    """Each ``keys`` entry is ``Type.param: field`` with a dotted field path."""
    for spec in KEYED:
        for line, path in LINKS[spec.name]["keys"].items():
            readme, _, param = line.partition(".")
            assert readme and param and isinstance(path, str) and all(path.split(".")), (spec.name, line)


@pytest.mark.parametrize("spec", KEYED, ids=[p.name for p in KEYED])
def test_items_answer_at_the_keys_a_person_uses(spec: Path):
    """Keys held never fewer (as a fraction) than recorded in tests/corpus_figures.json, where every keyed spec
    has a figure (all 8 are at 100% now: a key that stops answering fails here)."""
    outcome = measure(spec)
    figure = [outcome.held, outcome.total]
    print(f"\n{'spec':<28} keys held  first failing request\n{spec.name:<28} {outcome.held}/{outcome.total:<7} "
          + (outcome.failures[0] if outcome.failures else "-"))
    print("\n".join(f"  {line}" for line in outcome.failures))
    if RECORD:
        record(spec.name, {"keys": figure}, update=True)
    recorded = (json.loads(FIGURES.read_text()).get(spec.name) or {}).get("keys")
    assert recorded is not None, f"{spec.name}: no keys figure recorded (record it with MOCKVERSE_RECORD_FIGURES=1)"
    was, now = _fraction(recorded), _fraction(figure)
    assert now is not None and was is not None and now >= was - 1e-9, \
        f"{spec.name}: keys {figure} < recorded {recorded}\n" + "\n".join(outcome.failures)


def test_a_nested_item_path_is_filled_with_its_ancestors_person_keys():
    """Gitea's issue path: ``{owner}`` and ``{repo}`` belong to the repository (its login and name), ``{index}``
    to the issue (its number), read from the entities a list answered."""
    spec = next(p for p in SPECS if p.name == "gitea.json")
    world = build_world(str(spec), "42")
    app = world.asgi_app()
    with world, client_of(world) as client:
        checker = Checker(app, client, Report(spec=str(spec), seed="42", title=app.state.spec.title))
        checker.seed_ids()
        probe = KeyProbe(checker, LINKS["gitea.json"]["keys"], {})
        assert probe.owners("/repos/{owner}/{repo}/issues/{index}") == {1: "repo", 2: "repo", 4: "issue"}
        (issue, known), *_ = probe.listed("issue")
        assert (issue["id"], issue["number"], known) == (101, 1, {"repo": 1, "issue": 101})
        assert probe.url("issue", issue, known) == "/repos/stone26/amber1/issues/1"
        assert probe.identity("issue", issue) == {"id": 101}


def test_keys_and_the_corpus_ratchet_record_side_by_side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Recording the keys figure keeps a spec's other figures; re-recording those keeps the keys figure."""
    import test_check_corpus

    figures = tmp_path / "figures.json"
    figures.write_text(json.dumps({"a.yaml": {"links": [1, 2], "error": "x"}}))
    monkeypatch.setattr(test_check_corpus, "FIGURES", figures)
    record("a.yaml", {"keys": [1, 6]}, update=True)
    assert json.loads(figures.read_text()) == {"a.yaml": {"links": [1, 2], "error": "x", "keys": [1, 6]}}
    record("a.yaml", {"links": [2, 2]})
    assert json.loads(figures.read_text()) == {"a.yaml": {"links": [2, 2], "keys": [1, 6]}}
