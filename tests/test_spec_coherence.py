

def _sample(world: dict, name: str) -> object:
    return next(t for t in world["entity_types"] if t["name"] == name)["sample"][0]["id"]


def test_entities_embedded_below_the_top_level_are_the_world_s_own(app_client):
    client = app_client(spec=SPECS / "spotify.yaml")
    playlist = client.get(f"/playlists/{_sample(_world(client), 'playlist')}").json()
    items = playlist["tracks"]["items"]
    assert items
    for item in items:
        track = item["track"]
        own = client.get(f"/{track['type']}s/{track['id']}")
        assert own.status_code == 200, own.text
        assert own.json()["name"] == track["name"]
        adder = client.get(f"/users/{item['added_by']['id']}")
        assert adder.status_code == 200


def test_ids_held_below_the_top_level_name_existing_entities(app_client):
    client = app_client(spec=SPECS / "openai.yaml")
    thread = client.get(f"/threads/{_sample(_world(client), 'thread')}").json()
    files = thread["tool_resources"]["code_interpreter"]["file_ids"]
    stores = thread["tool_resources"]["file_search"]["vector_store_ids"]
    assert files and stores
    assert [client.get(f"/files/{f}").status_code for f in files] == [200] * len(files)
    assert [client.get(f"/vector_stores/{s}").status_code for s in stores] == [200] * len(stores)
