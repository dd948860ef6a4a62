"""A read whose world view was taken before a text job stored its text (the read was computed
while the job ran) saw the text missing; it must not ask the LLM for that text again."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import orjson

from mockverse.ai.provider import LLM
from mockverse.ai.text_writer import TextService
from mockverse.http.app import Settings, create_app
from mockverse.world.engine import WorldView

ANSWER = {"bio": "Written by the scripted model."}


def scripted(asked: list[dict]) -> httpx.MockTransport:
    """A chat-completions endpoint answering every request with ``ANSWER``, recording what it was asked."""
    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(json.loads(request.content))
        return httpx.Response(200, json={"choices": [{"message": {"content": json.dumps(ANSWER)}}]})
    return httpx.MockTransport(answer)


def bio_read(view: WorldView) -> tuple[int, bytes, dict]:
    """What a read of user 7 serves in ``view``: its fields, the bio among them."""
    return 200, orjson.dumps(view.get(view.engine.model.types["user"], 7)), {}


async def race(texts: TextService) -> tuple[str, str]:
    """The verdicts of a read before the job and of a second read with the same (old) view after it."""
    await texts.start()
    try:
        old = texts.engine.view("default")
        first = old.get(old.engine.model.types["user"], 7)
        _, before = await texts.finish_read(old, bio_read(old), bio_read)
        assert texts.queue is not None
        await texts.queue.join()   # the job ran and stored the text
        fresh = texts.engine.view("default")
        assert fresh.get(fresh.engine.model.types["user"], 7)["bio"] == ANSWER["bio"]
        assert first["bio"] != ANSWER["bio"]
        _, after = await texts.finish_read(old, bio_read(old), bio_read)   # computed while the job ran
        await texts.queue.join()
    finally:
        await texts.aclose()
    return before[2]["X-Mockverse-Text"], after[2]["X-Mockverse-Text"]


def test_a_read_with_a_view_older_than_the_stored_text_asks_nothing_again(tmp_path: Path):
    config = tmp_path / "ai.yaml"
    config.write_text("ai:\n  base_url: http://127.0.0.1:9/v1\n  model: test-model\n  text_budget: 0ms\n")
    app = create_app(Settings(config=str(config), store=str(tmp_path / "state.db"), seed="42"))
    texts: TextService = app.state.mock.texts
    asked: list[dict] = []
    texts.llm = LLM(app.state.config.ai, transport=scripted(asked))
    try:
        before, after = asyncio.run(race(texts))
    finally:
        app.state.engine.store.close()
    assert len(asked) == 1                 # one LLM call, by the first read's job
    assert texts.counts == {"queued": 1, "dropped": 0, "written": 1, "failed": 0, "calls": 1}
    assert before == "pending"
    assert after == "fallback"             # the old view serves the fallback, and asks for nothing
