"""LLM-written text fields: a bounded background queue that fills the store.

A read that serves a text field without stored text (the fallback) asks for it here: one
job per entity (all its missing fields in one call, so a ticket's subject and body agree),
written in the persona's voice and consistent with its lifecycle state. A cold read waits
at most ``ai.text_budget`` for it and otherwise serves the fallback; the job runs on one
worker task in the server's event loop and stores the entity's fields as one artefact
``ai:text:<ref>`` (one write, which bumps the workspace version, so cached bytes refresh).
In frozen mode a text is never asked for again, unless the persona's lifecycle state
changed since (it is then served and written again). A full queue drops the job (counted)
and the read serves the fallback. ``X-Mockverse-Text`` says which path produced the text of
a response: ``llm``, ``pending`` (fallback now, LLM text asked for) or ``fallback``. A
response whose text an LLM is still to write (``pending``, or a fallback during the cooldown
after a failed call or after a drop: asked again by a later read) is not cached.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson

from mockverse.ai.provider import LLM, AIError, Artefacts
from mockverse.cache import LRU
from mockverse.config import AIConfig
from mockverse.store import StoreUnavailable
from mockverse.world.free_text import SHORT

if TYPE_CHECKING:   # the world is handed in (ai sits beside world, below http)
    from mockverse.world.engine import ConsistencyEngine, WorldView
    from mockverse.world.free_text import TextLayer, TextNote, TextSlot

log = logging.getLogger("mockverse.ai")

HEADER = "X-Mockverse-Text"
KIND = "text"
COOLDOWN = 5.0          # seconds after a failed call during which misses are not queued (the LLM is down)
SCHEMA_NAME = "mockverse_text"
STATES = {
    "NewSignup": "signed up a few days ago and is still finding their way around",
    "Active": "a regular, paying customer",
    "PowerUser": "a heavy user on the top plan",
    "ChurnRisk": "using the product less and less and thinking about leaving",
    "Churned": "has cancelled their subscription",
    "UpgradePending": "has asked for an upgrade to the Enterprise plan that is not active yet",
    "PaymentFailed": "their latest payment failed and their account is past due",
}
SYSTEM = ("You write the free-text fields of test data for a mock API. Write as the persona would (a real "
          "customer of an online shop), in plain text without markdown, consistent with the data and the "
          "persona's lifecycle state you are given. Invent no ids, prices or dates beyond those given.")


def run_id(config: AIConfig | None) -> str | None:
    """Live mode: this server run's id (text stored by another run is written again); frozen: None."""
    return secrets.token_hex(8) if config is not None and config.mode == "live" else None


def stored_text(artefacts: Artefacts) -> Callable[[str, str], dict | None]:
    """How the world reads stored text, one artefact per entity ref (``{path: {"text", "state",
    "run", "model"}}``): always the stored value (in live mode too; the layer then treats text
    from an earlier run as stale)."""
    reader = Artefacts(artefacts.store, "frozen")
    return lambda workspace, key: reader.get(workspace, KIND, key)


class TextService:
    """The queue and its worker; ``finish_read`` is what the mock read path calls on a cache miss."""

    def __init__(self, engine: ConsistencyEngine, layer: TextLayer, llm: LLM | None, artefacts: Artefacts,
                 config: AIConfig | None, clock: Callable[[], float] = time.monotonic) -> None:
        """``clock`` reads the seconds the cooldown is measured in (tests move one by hand instead of waiting)."""
        self.engine, self.layer, self.llm, self.artefacts, self.config = engine, layer, llm, artefacts, config
        self.clock = clock
        self.budget = config.text_budget.total_seconds() if config is not None else 0.0
        self.size = config.queue_size if config is not None else 0
        self.queue: asyncio.Queue | None = None
        self.worker: asyncio.Task | None = None
        self.jobs: dict[tuple[str, str], asyncio.Future] = {}      # (workspace, ref) -> done (True: stored)
        # (workspace, ref) -> the store version its text was last written by: a read whose view is older
        # (computed while the job ran) saw the text missing, but must not ask for it again
        self.written = LRU(4096)
        self.down_until = 0.0
        self.counts = {"queued": 0, "dropped": 0, "written": 0, "failed": 0, "calls": 0}

    async def start(self) -> None:
        """Start the worker in the running loop (app lifespan); without an LLM there is none."""
        if self.llm is not None:
            self.queue = asyncio.Queue(self.size)
            self.worker = asyncio.create_task(self._work(), name="mockverse-text")

    async def aclose(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            try:
                await self.worker
            except asyncio.CancelledError:
                pass
            self.worker = None

    # -- the read path ------------------------------------------------------------------------------
    async def finish_read(
        self, view: WorldView, hit: tuple[int, bytes, dict], reread: Callable[[WorldView], tuple[int, bytes, dict]]
    ) -> tuple[WorldView, tuple[int, bytes, dict]]:
        """The response to cache for a freshly computed read: its ``X-Mockverse-Text`` header, and the
        missing text asked for; when it is written within the budget, the read done again with it."""
        if self.queue is None:   # no LLM: nothing to ask for, only say where the text came from
            verdict = self._served_verdict(view, hit[1])
            return view, (hit if verdict is None else _with_header(hit, verdict))
        notes = self._notes(view, hit[1])
        if not notes:
            return view, hit
        waiting = self._ask(view, notes)
        if waiting and self.budget > 0:
            done, _ = await asyncio.wait(waiting, timeout=self.budget)
            if len(done) == len(waiting) and all(f.result() for f in done):
                fresh = self.engine.view(view.workspace)
                again = reread(fresh)
                notes = self._notes(fresh, again[1])
                return fresh, _with_header(again, self._verdict(fresh, notes, set()))
        pending = {ref for ref, f in self.jobs.items() if not f.done() and ref[0] == view.workspace}
        return view, _with_header(hit, self._verdict(view, notes, pending))

    def cacheable(self, hit: tuple[int, bytes, dict]) -> bool:
        """Whether a settled response may be cached: not while its text is still to be written by
        an LLM (``pending``, or a fallback during the cooldown or after a drop, asked again later)."""
        verdict = hit[2].get(HEADER)
        return verdict != "pending" and not (verdict == "fallback" and self.queue is not None)

    def _notes(self, view: WorldView, body: bytes) -> list[TextNote]:
        """The text of the entities this read touched that is in its body (a facet reads its persona,
        a spec world reads entities for their ids: their text is not served, so not asked for)."""
        out = []
        for ref in sorted(view.text_refs or ()):
            note = self.layer.note(view, ref)
            if note is None:
                continue
            served = [s for s in note.slots if orjson.dumps(s.text) in body]
            if served:
                out.append(replace(note, slots=served))
        return out

    def _served_verdict(self, view: WorldView, body: bytes) -> str | None:
        """``fallback`` as soon as one served text is; ``llm`` if every served one is; None if none is."""
        verdict = None
        for ref in view.text_refs or ():
            note = self.layer.note(view, ref)
            for slot in note.slots if note is not None else ():
                if orjson.dumps(slot.text) in body:
                    if slot.source == "fallback":
                        return "fallback"
                    verdict = "llm"
        return verdict

    def _verdict(self, view: WorldView, notes: list[TextNote], pending: set[tuple[str, str]]) -> str:
        missing = [n for n in notes if any(s.source == "fallback" or s.stale for s in n.slots)]
        if not missing:
            return "llm"
        if any((view.workspace, n.slots[0].ref) in pending for n in missing):
            return "pending"
        return "fallback"

    def _ask(self, view: WorldView, notes: list[TextNote]) -> list[asyncio.Future]:
        """Queue a job for each entity with missing text (once; none while the LLM is down)."""
        if self.queue is None or self.clock() < self.down_until:
            return []
        waiting: list[asyncio.Future] = []
        for note in notes:
            slots = [s for s in note.slots if s.source == "fallback" or s.stale]
            if not slots or not note.context:
                continue
            key = (view.workspace, slots[0].ref)
            job = self.jobs.get(key)
            if job is not None and not job.done():
                waiting.append(job)
                continue
            if self.written.get(key, -1) > view.snap.version:   # written after this view was taken
                continue
            future: asyncio.Future = asyncio.get_running_loop().create_future()
            try:
                self.queue.put_nowait((view.workspace, slots, note.context, future))
            except asyncio.QueueFull:
                self.counts["dropped"] += 1
                continue
            self.counts["queued"] += 1
            self.jobs[key] = future
            waiting.append(future)
        return waiting

    # -- the worker ----------------------------------------------------------------------------------
    async def _work(self) -> None:
        assert self.queue is not None
        while True:
            workspace, slots, context, future = await self.queue.get()
            try:   # while the LLM is down, queued jobs are not sent to it: a later read asks again
                ok = False if self.clock() < self.down_until else await self._write(workspace, slots, context)
            except asyncio.CancelledError:
                raise
            except Exception:   # a worker that dies would leave every later text a fallback
                log.exception("writing text for %s failed", slots[0].ref)
                ok = False
            if ok:
                with contextlib.suppress(StoreUnavailable):
                    self.written.put((workspace, slots[0].ref), await self.engine.store.version_now(workspace))
            if not future.done():
                future.set_result(ok)
            self.jobs.pop((workspace, slots[0].ref), None)
            self.queue.task_done()

    async def _write(self, workspace: str, slots: list[TextSlot], context: dict) -> bool:
        """Ask the LLM for the missing fields of one entity and store them in one write; False if it failed."""
        assert self.llm is not None and self.config is not None
        ref = slots[0].ref
        try:
            if self.config.mode == "frozen":   # another worker or instance may have written them meanwhile
                stored = self.artefacts.get(workspace, KIND, ref) or {}
                slots = [s for s in slots if not isinstance(stored.get(s.path), dict)
                         or stored[s.path].get("state", False) != context.get("state")]
                if not slots:
                    return True
            self.counts["calls"] += 1
            answer = await self.llm.complete_json(system=SYSTEM, prompt=prompt(context, slots),
                                                  schema=schema(slots), name=SCHEMA_NAME)
            written = {s.path: {"text": answer[s.path].strip(), "model": self.config.model, "run": self.layer.run,
                                "state": context.get("state")} for s in slots}
            self.artefacts.update(workspace, KIND, ref,
                                  lambda old: {**(old if isinstance(old, dict) else {}), **written})
        except AIError as exc:
            self.counts["failed"] += 1
            self.down_until = self.clock() + COOLDOWN
            log.warning("LLM text for %s not written (the fallback stays): %s", ref, exc.message)
            return False
        except StoreUnavailable:
            self.counts["failed"] += 1
            return False
        self.counts["written"] += len(slots)
        return True

    def stats(self) -> dict[str, Any]:
        return {**self.counts, "waiting": self.queue.qsize() if self.queue is not None else 0,
                "queue_size": self.size, "llm": self.llm is not None}


def schema(slots: list[TextSlot]) -> dict:
    """One string per field path: a line for subjects and titles, a short paragraph otherwise."""
    props = {s.path: {"type": "string", "minLength": 1, "maxLength": 160 if s.leaf.lower() in SHORT else 1200}
             for s in slots}
    return {"type": "object", "additionalProperties": False, "required": list(props), "properties": props}


def prompt(context: dict, slots: list[TextSlot]) -> str:
    """What the model is told: whose text, which state (and what it means), the facts around it."""
    owner = context["owner"]
    what = f"the {context['facet']} page of {context['persona']}" if context.get("facet") else \
        f"the {context['entity_type']} {context['ref'].split(':', 1)[1]}"
    lines = [f"Write text fields of {what} in a commerce API."]
    if context.get("persona"):
        state = context.get("state")
        meaning = STATES.get(state or "", "")
        lines.append(
            f"The persona is {context['persona']}, lifecycle state {state}" + (f": {meaning}." if meaning else ".")
        )
        if context.get("persona_data") and context["persona"] != context["ref"]:
            lines.append("The persona: " + orjson.dumps(context["persona_data"]).decode())
    lines.append(f"The {owner} data around the text: " + orjson.dumps(context["data"]).decode())
    lines.append("Fields to write (JSON keys are their paths):")
    for slot in slots:
        lines.append(f"- {slot.path}: {_describe(owner, slot)}")
    return "\n".join(lines)


def _describe(owner: str, slot: TextSlot) -> str:
    leaf = slot.leaf.lower()
    if owner == "support" and leaf == "subject":
        return "the subject line of a support ticket the persona opened (about their situation when it is the first)"
    if owner == "support" and leaf == "body":
        return "the body of that support ticket, two to four sentences in the persona's words"
    if leaf == "bio":
        return "a short bio the persona wrote about themselves, one to three sentences"
    if leaf == "review_text":
        return "a product review the buyer wrote about this order item, one to three sentences"
    return "one line" if leaf in SHORT else "a short paragraph"


def _with_header(hit: tuple[int, bytes, dict], value: str) -> tuple[int, bytes, dict]:
    status, body, headers = hit
    return status, body, {**headers, HEADER: value}
