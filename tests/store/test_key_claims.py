"""A key link (KEY_LINK) names one holder: the store refuses, whole, a write linking a second entity from a key
another holds; and a store written before keys were indexed gets its key links once, when an app opens it."""

from __future__ import annotations

import pytest

from key_specs import apps_spec
from mockverse.store import KEY_LINK, KeyClaimed, open_store
from mockverse.world.writes import KEYS_INDEXED

WS = "default"
KEY = "app.uid=billing"


def test_a_key_another_entity_holds_refuses_the_whole_write(store_url: str):
    """The second claim of a key raises KeyClaimed naming the key and its holder and stores nothing (no entity,
    no version); the holder writes it again freely; once the holder lets it go, another takes it."""
    store = open_store(store_url)
    try:
        store.put_entity(WS, "app", "1", {"uid": "billing"}, "created", [(KEY, KEY_LINK, "app:1")])
        version = store.version(WS)
        with pytest.raises(KeyClaimed) as claimed:
            store.put_entity(WS, "app", "2", {"uid": "billing"}, "created",
                             [("org:1", "has_apps", "app:2"), (KEY, KEY_LINK, "app:2")])
        assert (claimed.value.key, claimed.value.holder) == (KEY, "app:1")
        assert (store.version(WS), store.get_entity(WS, "app", "2"), store.links_of(WS, "app:2")) == (version, None, [])
        store.put_entity(WS, "app", "1", {"uid": "billing", "name": "b"}, "created", [(KEY, KEY_LINK, "app:1")])
        store.put_entity(WS, "app", "1", {"uid": "other"}, "created", [("app.uid=other", KEY_LINK, "app:1")])
        store.put_entity(WS, "app", "2", {"uid": "billing"}, "created", [(KEY, KEY_LINK, "app:2")])
        assert store.linked(WS, KEY, KEY_LINK) == ["app:2"]
    finally:
        store.close()


def _unindexed(store_url: str, id: str) -> None:
    """Rewrite app ``id`` as a store written before keys were indexed holds it: its fields, no key links."""
    store = open_store(store_url)
    try:
        stored = store.get_entity(WS, "app", id)
        assert stored is not None
        me = f"app:{id}"
        links = [link for link in store.links_of(WS, me) if link[2] == me and link[1] != KEY_LINK]
        store.put_entity(WS, "app", id, stored.data, stored.mode, links)
        assert store.linked(WS, f"app.uid={stored.data['uid']}", KEY_LINK) == []
    finally:
        store.close()


def test_opening_a_store_written_before_keys_were_indexed_indexes_them_once(app_client, store_url: str, tmp_path):
    """An app written with uid ``legacy`` and no key link answers at its uid and holds it (a create giving it is a
    409 naming it) once an app opens the store, which is then marked; an app opening it again indexes nothing."""
    spec = apps_spec(tmp_path)
    legacy = app_client(spec=spec, store=store_url).post("/apps", json={"name": "Legacy", "uid": "legacy"}).json()
    _unindexed(store_url, legacy["id"])
    c = app_client(spec=spec, store=store_url)
    assert c.get("/apps/legacy").json() == legacy
    taken = c.post("/apps", json={"name": "Copy", "uid": "legacy"})
    assert (taken.status_code, taken.json()["held_by"], taken.json()["field"]) == (409, legacy["id"], "uid")
    store = open_store(store_url)
    try:
        assert (store.get_setting(WS, KEYS_INDEXED), store.linked(WS, "app.uid=legacy", KEY_LINK)) == \
            (True, [f"app:{legacy['id']}"])
    finally:
        store.close()
    _unindexed(store_url, legacy["id"])
    assert app_client(spec=spec, store=store_url).get("/apps/legacy").status_code == 404
