"""LLM-assisted relationship inference for the fields the heuristics cannot settle.

A candidate is a top-level field of an entity type that reads as an id (``reviewer_ref``,
``assignee_id``, ``folder_id``) and that the heuristics of :mod:`mockverse.openapi.infer`
either left alone or pointed at a type the spec does not define. The LLM is asked once per
(spec hash, field), JSON-schema constrained: the target among the world's types (or
``none``), a reason and a confidence; the answer is a frozen artefact in the store.

A proposal is applied when its confidence reaches ``ai.relationship_threshold`` or a user
accepted it (``POST /api/v1/consistency/world/relationships/{id}/accept``). Applying means
the relationship joins the inferred world before the world model is built, as a reference
(the field is filled with ids of target entities that exist), never as a parent. It is
applied when a server starts: a running server never changes its world's shape under its
clients, and every worker and instance on one store builds the same world. An acceptance is
stored at once and takes effect at the next start (the world view says so).

Proposals are asked for at start, concurrently, within ``ai.relationship_budget``; what is
not answered by then is asked again at the next start.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mockverse.ai.provider import LLM, AIError, Artefacts
from mockverse.config import AIConfig
from mockverse.openapi import InferredWorld, Relationship, Spec, merge_all_of, snake
from mockverse.openapi.infer import (
    _NOT_REFERENCES,  # stems that identify something outside the world: never a candidate
)
from mockverse.store import Store, StoreUnavailable

log = logging.getLogger("mockverse.ai")

WORKSPACE = "_world"        # world-level artefacts; no request can name it (workspaces start with a letter or digit)
KIND = "relation"
SCHEMA_NAME = "mockverse_relationship"
EVIDENCE = "suggested by the LLM"   # the evidence prefix of an applied proposal (spec worlds never make it a parent)
_ID_WORDS = frozenset({"id", "ids", "ref", "refs", "uuid", "uuids"})
SYSTEM = ("You map the fields of an API's data model. Given one field of one entity type and the entity types "
          "of the API, say which type's id the field holds, or 'none' when it names something outside this API. "
          "Be calibrated: confidence is the probability that your answer is right.")


@dataclass(frozen=True)
class Candidate:
    """A field the heuristics left unsettled."""

    source: str
    field: str
    many: bool
    description: str
    schema: dict
    heuristic: str | None         # the undefined type the heuristics named, if any

    @property
    def id(self) -> str:
        return f"{self.source}.{self.field}"


@dataclass
class Proposal:
    """The LLM's answer for one candidate, and what became of it."""

    candidate: Candidate
    target: str | None
    reason: str
    confidence: float
    model: str
    status: str = "proposed"      # proposed | applied | accepted
    applied: bool = False         # part of the world this server serves
    note: str = ""

    @property
    def id(self) -> str:
        return self.candidate.id

    def relationship(self) -> Relationship:
        c = self.candidate
        return Relationship(id=f"{c.source}.{c.field}->{self.target}", source=c.source, target=self.target or "",
                            kind="has_many" if c.many else "belongs_to", field=c.field,
                            evidence=[f"{EVIDENCE} ({self.model}, confidence {self.confidence:.2f}): {self.reason}"],
                            confidence=round(self.confidence, 2), dangling=False)

    def to_dict(self) -> dict:
        return {"id": self.id, "source": "llm", "entity_type": self.candidate.source, "field": self.candidate.field,
                "target": self.target, "relationship_id": f"{self.id}->{self.target}" if self.target else None,
                "kind": "has_many" if self.candidate.many else "belongs_to", "reason": self.reason,
                "confidence": self.confidence, "status": self.status, "applied": self.applied,
                "heuristic_target": self.candidate.heuristic, "model": self.model, "note": self.note}


def candidates(spec: Spec, inferred: InferredWorld) -> list[Candidate]:
    """Id-like top-level fields of the spec's entity types with no relationship to a defined type."""
    linked: dict[tuple[str, str], Relationship] = {(r.source, r.field): r for r in inferred.relationships
                                                   if r.field and not r.dangling}
    dangling: dict[tuple[str, str], Relationship] = {(r.source, r.field): r for r in inferred.relationships
                                                     if r.field and r.dangling}
    out: list[Candidate] = []
    for name, entity in sorted(inferred.entity_types.items()):
        if entity.dangling or not isinstance(entity.schema, dict):
            continue
        props = merge_all_of(entity.schema).get("properties") or {}
        for prop, raw in props.items():
            if prop == entity.id_field or (name, prop) in linked or not isinstance(raw, dict):
                continue
            schema = merge_all_of(raw)
            many = "array" in _types(schema)
            scalar = merge_all_of(schema.get("items") or {}) if many else schema
            if not _types(scalar) & {"string", "integer"} or str(scalar.get("format", "")) in ("date", "date-time",
                                                                                                "email", "uri"):
                continue
            words = snake(prop).split("_")
            if len(words) < 2 or words[-1] not in _ID_WORDS or set(words[:-1]) & _NOT_REFERENCES:
                if str(scalar.get("format", "")) != "uuid" or prop in ("id", "uuid"):
                    continue
            guess = dangling.get((name, prop))
            out.append(Candidate(name, prop, many, str(raw.get("description") or "")[:300],
                                 {k: v for k, v in scalar.items() if k in ("type", "format", "pattern", "example")},
                                 guess.target if guess is not None else None))
    return out


def spec_hash(spec: Spec) -> str:
    """What the proposals of a spec are keyed by: its bytes (a changed spec is asked again)."""
    try:
        data = Path(spec.source).read_bytes()
    except OSError:
        data = spec.title.encode()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class Relations:
    """The LLM's relationship proposals for one spec: asked for, stored, applied, accepted."""

    def __init__(self, spec: Spec, inferred: InferredWorld, store: Store, config: AIConfig | None,
                 llm: LLM | None) -> None:
        self.spec, self.inferred, self.store, self.config, self.llm = spec, inferred, store, config, llm
        self.hash = spec_hash(spec)
        self.candidates = candidates(spec, inferred) if config is not None else []
        self.artefacts = Artefacts(store, config.mode if config is not None else "frozen")
        self.types = sorted(n for n, t in inferred.entity_types.items() if not t.dangling)
        self.answers: dict[str, dict] = {}     # candidate id -> the LLM's answer (stored or fresh)
        self.applied_ids: set[str] = set()     # candidate ids applied in this server's world
        self.error: str | None = None

    @property
    def inference(self) -> str:
        return "llm" if self.config is not None else "heuristics"

    def _key(self, candidate: Candidate) -> str:
        return Artefacts.key(self.hash, candidate.source, candidate.field)

    def _accepted_key(self, candidate_id: str) -> str:
        return f"ai:relation-accepted:{self.hash}:{candidate_id}"

    # -- at start ------------------------------------------------------------------------------------
    def ask(self) -> None:
        """Answers for every candidate: stored ones, then the LLM for the rest (concurrently, within the
        budget; run on a thread of its own, so it works inside or outside a running event loop)."""
        if self.config is None or not self.candidates:
            return
        missing = []
        for c in self.candidates:
            stored = self.artefacts.get(WORKSPACE, KIND, self._key(c))
            if stored is not None:
                self.answers[c.id] = stored
            else:
                missing.append(c)
        if not missing or self.llm is None:
            return
        result: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: result.update(asyncio.run(self._ask_all(missing))),
                                  name="mockverse-relations", daemon=True)
        thread.start()
        thread.join(self.config.relationship_budget.total_seconds() + 1)
        for c in missing:
            answer = result.get(c.id)
            if isinstance(answer, dict):   # the first answer stored wins: every worker builds the same world
                self.answers[c.id] = self.artefacts.put_first(WORKSPACE, KIND, self._key(c), answer)

    async def _ask_all(self, missing: list[Candidate]) -> dict[str, dict]:
        assert self.config is not None
        tasks = {c.id: asyncio.ensure_future(self._ask_one(c)) for c in missing}
        done, pending = await asyncio.wait(tasks.values(), timeout=self.config.relationship_budget.total_seconds())
        for task in pending:
            task.cancel()
        if pending:
            self.error = f"{len(pending)} of {len(missing)} proposals not answered within " \
                         f"{self.config.relationship_budget.total_seconds():g}s; asked again at the next start"
        out: dict[str, dict] = {}
        for cid, task in tasks.items():
            if task in done and task.exception() is None and (answer := task.result()) is not None:
                out[cid] = answer
        return out

    async def _ask_one(self, c: Candidate) -> dict | None:
        assert self.llm is not None and self.config is not None
        schema = {"type": "object", "additionalProperties": False, "required": ["target", "reason", "confidence"],
                  "properties": {"target": {"type": "string", "enum": [*self.types, "none"]},
                                 "reason": {"type": "string", "minLength": 1, "maxLength": 400},
                                 "confidence": {"type": "number", "minimum": 0, "maximum": 1}}}
        try:
            answer = await self.llm.complete_json(system=SYSTEM, prompt=self._prompt(c), schema=schema,
                                                  name=SCHEMA_NAME)
        except AIError as exc:
            self.error = exc.message
            log.warning("relationship proposal for %s not answered: %s", c.id, exc.message)
            return None
        target = answer["target"] if answer["target"] != "none" else None
        return {
            "target": target,
            "reason": answer["reason"].strip(),
            "confidence": round(float(answer["confidence"]), 3),
            "model": self.config.model,
        }

    def _prompt(self, c: Candidate) -> str:
        lines = [f"API: {self.spec.title}",
                 f"Entity type '{c.source}' has the field '{c.field}'" + (" (a list)" if c.many else "") +
                 f", schema {c.schema}" + (f", described as: {c.description!r}" if c.description else "") + ".",
                 "The entity types of this API, with a few of their fields:"]
        for name in self.types:
            entity = self.inferred.entity_types[name]
            props = list(
                (merge_all_of(entity.schema).get("properties") or {}) if isinstance(entity.schema, dict) else []
            )
            lines.append(
                f"- {name} (id field {entity.id_field or 'id'}, {entity.id_type} ids): {', '.join(props[:12])}"
            )
        if c.heuristic:
            lines.append(f"Name matching guessed a type '{c.heuristic}', which this API does not define.")
        lines.append("Which type's id does the field hold? Answer 'none' if it is not one of these types.")
        return "\n".join(lines)

    # -- applying --------------------------------------------------------------------------------------
    def accepted(self, candidate_id: str) -> bool:
        try:
            return bool(self.store.get_setting(WORKSPACE, self._accepted_key(candidate_id)))
        except StoreUnavailable:
            return False

    def extend(self, inferred: InferredWorld) -> InferredWorld:
        """The inferred world with the proposals that pass the threshold (or were accepted) added, each
        replacing the heuristics' guess of an undefined type for the same field."""
        if self.config is None:
            return inferred
        chosen = [p for p in self.proposals() if p.target and (p.confidence >= self.config.relationship_threshold
                                                               or self.accepted(p.id))]
        if not chosen:
            return inferred
        fields = {(p.candidate.source, p.candidate.field) for p in chosen}
        kept = [r for r in inferred.relationships if not (r.dangling and (r.source, r.field) in fields)]
        targets = {r.target for r in kept}
        types = {n: t for n, t in inferred.entity_types.items() if not t.dangling or n in targets}
        self.applied_ids = {p.id for p in chosen}
        return replace(inferred, entity_types=types, relationships=sorted(kept + [p.relationship() for p in chosen],
                                                                         key=lambda r: r.id))

    def proposals(self) -> list[Proposal]:
        """Every answered candidate, with its status in this server's world."""
        out = []
        threshold = self.config.relationship_threshold if self.config is not None else 1.0
        for c in self.candidates:
            answer = self.answers.get(c.id)
            if answer is None:
                continue
            p = Proposal(c, answer.get("target"), str(answer.get("reason", "")), float(answer.get("confidence", 0)),
                         str(answer.get("model", "")))
            p.applied = c.id in self.applied_ids
            if self.accepted(c.id):
                p.status = "accepted"
                p.note = "" if p.applied else "accepted; applied when the server next starts"
            elif p.target is None:
                p.note = "the model found no target type among this world's types"
            elif p.confidence >= threshold:
                p.status = "applied"
                p.note = "" if p.applied else "applied when the server next starts"
            else:
                p.note = f"below the threshold {threshold:g}: accept it to apply it"
            out.append(p)
        return out

    def accept(self, candidate_id: str) -> Proposal | None:
        """Store a user's acceptance of a proposal; None if there is no such proposal. Raises ValueError
        for a proposal without a target (nothing to apply)."""
        proposal = next((p for p in self.proposals() if p.id == candidate_id), None)
        if proposal is None:
            return None
        if proposal.target is None:
            raise ValueError("the model proposed no target type for this field, so there is nothing to apply")
        self.store.put_setting(WORKSPACE, self._accepted_key(candidate_id), True)
        return next(p for p in self.proposals() if p.id == candidate_id)


def _types(schema: dict) -> set[str]:
    kind = schema.get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()
    if not kinds and "items" in schema:
        kinds = {"array"}
    return kinds



def start_relations(spec: Spec, inferred: InferredWorld, store: Store, config: AIConfig | None,
                    llm: LLM | None) -> Relations:
    """The proposals of a spec world at start: stored answers, the LLM asked for the rest."""
    relations = Relations(spec, inferred, store, config, llm)
    try:
        relations.ask()
    except StoreUnavailable:
        relations.error = "the store is unreachable: heuristics only until the next start"
    return relations
