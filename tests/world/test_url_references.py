"""URL-valued fields built from the world's own paths: an entity's own API address (``url`` beside an
``html_url``, or a ``url`` described as the resource's absolute URL) and URL references (``issue_url``) are the
target's item path, filled with the keys a client uses (a login, a repository name, a per-parent number, an id),
on the spec's first absolute server URL (else ``https://api.example.com``). Following one, its base stripped,
reads the same entity. They follow writes; a client's own value stands; web addresses, webhooks and media
keep their generated values."""

from __future__ import annotations

import json
from pathlib import Path

from mockverse.check import run_check

OK = "200"
STRING = {"type": "string"}
INTEGER = {"type": "integer"}


def _ok(schema: dict, code: str = OK) -> dict:
    return {code: {"description": "ok", "content": {"application/json": {"schema": schema}}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(name: str) -> dict:
    return _ok({"type": "array", "items": _ref(name)})


def _param(name: str, schema: dict | None = None, description: str = "") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema or STRING,
            **({"description": description} if description else {})}


def _write(tmp_path: Path, spec: dict) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def _forge(tmp_path: Path, servers: list[dict] | None = None) -> Path:
    """Users keyed by login; repositories at ``/repos/{owner}/{repo}``; issues numbered within their repository;
    comments under a repository naming their issue by ``issue_url``."""
    repo = [_param("owner", description="owner of the repo"), _param("repo", description="name of the repo")]
    spec: dict = {"openapi": "3.0.3", "info": {"title": "forge", "version": "1"}, "paths": {
        "/users": {"get": {"operationId": "listUsers", "responses": _list("User")}},
        "/users/{username}": {"get": {"operationId": "getUser", "responses": _ok(_ref("User")),
                                      "parameters": [_param("username", description="username")]}},
        "/repos/search": {"get": {"operationId": "searchRepos", "responses": _list("Repository")}},
        "/repos/{owner}/{repo}": {
            "get": {"operationId": "getRepo", "parameters": repo, "responses": _ok(_ref("Repository"))},
            "patch": {"operationId": "editRepo", "parameters": repo, "responses": _ok(_ref("Repository")),
                      "requestBody": {"content": {"application/json": {"schema": _ref("EditRepo")}}}}},
        "/repos/{owner}/{repo}/issues": {"get": {"operationId": "listIssues", "parameters": repo,
                                                 "responses": _list("Issue")}},
        "/repos/{owner}/{repo}/issues/{index}": {
            "get": {"operationId": "getIssue", "parameters": [*repo, _param("index", INTEGER)],
                    "responses": _ok(_ref("Issue"))}},
        "/repos/{owner}/{repo}/issues/comments": {"get": {"operationId": "listComments", "parameters": repo,
                                                          "responses": _list("Comment")}},
        "/repos/{owner}/{repo}/issues/{index}/comments": {
            "get": {"operationId": "listIssueComments", "parameters": [*repo, _param("index", INTEGER)],
                    "responses": _list("Comment")},
            "post": {"operationId": "createIssueComment", "parameters": [*repo, _param("index", INTEGER)],
                     "requestBody": {"content": {"application/json": {"schema": {
                         "type": "object", "required": ["body"], "properties": {"body": STRING}}}}},
                     "responses": _ok(_ref("Comment"), "201")}},
        "/repos/{owner}/{repo}/issues/comments/{id}": {
            "get": {"operationId": "getComment", "parameters": [*repo, _param("id", INTEGER)],
                    "responses": _ok(_ref("Comment"))}},
    }, "components": {"schemas": {
        "User": {"type": "object", "properties": {"id": INTEGER, "login": STRING, "avatar_url": STRING}},
        "Repository": {"type": "object", "properties": {
            "id": INTEGER, "name": STRING, "full_name": STRING, "owner": _ref("User"), "url": STRING,
            "html_url": STRING}},
        "EditRepo": {"type": "object", "properties": {"name": STRING}},
        "Issue": {"type": "object", "properties": {
            "id": INTEGER, "number": INTEGER, "title": STRING, "url": STRING, "html_url": STRING,
            "repository": _ref("Repository")}},
        "Comment": {"type": "object", "properties": {
            "id": INTEGER, "body": STRING, "issue_url": STRING, "html_url": STRING}},
    }}}
    if servers is not None:
        spec["servers"] = servers
    return _write(tmp_path, spec)


def _chat(tmp_path: Path) -> Path:
    """Services and their channels keyed by SIDs at ``/v2/Services/{ServiceSid}/Channels/{Sid}``, each with the
    absolute URL of its resource, a service with a ``links`` map; its webhook is a URL it calls, not its address."""
    described = {"type": "string", "format": "uri", "description": "The absolute URL of the resource."}
    sid = {"type": "string", "pattern": "^IS[0-9a-fA-F]{32}$"}
    channel_sid = {"type": "string", "pattern": "^CH[0-9a-fA-F]{32}$"}
    return _write(tmp_path, {"openapi": "3.0.3", "info": {"title": "chat", "version": "1"},
                             "servers": [{"url": "https://chat.example.com"}], "paths": {
        "/v2/Services": {"get": {"operationId": "listServices", "responses": _ok(
            {"type": "object", "properties": {"services": {"type": "array", "items": _ref("Service")}}})}},
        "/v2/Services/{Sid}": {"get": {"operationId": "getService", "parameters": [_param("Sid", sid)],
                                       "responses": _ok(_ref("Service"))}},
        "/v2/Services/{ServiceSid}/Channels": {
            "get": {"operationId": "listChannels", "parameters": [_param("ServiceSid", sid)], "responses": _ok(
                {"type": "object", "properties": {"channels": {"type": "array", "items": _ref("Channel")}}})},
            "post": {"operationId": "createChannel", "parameters": [_param("ServiceSid", sid)],
                     "requestBody": {"content": {"application/json": {"schema": {
                         "type": "object", "properties": {"friendly_name": STRING}}}}},
                     "responses": _ok(_ref("Channel"), "201")}},
        "/v2/Services/{ServiceSid}/Channels/{Sid}": {"get": {
            "operationId": "getChannel", "parameters": [_param("ServiceSid", sid), _param("Sid", channel_sid)],
            "responses": _ok(_ref("Channel"))}},
    }, "components": {"schemas": {
        "Service": {"type": "object", "properties": {
            "sid": sid, "friendly_name": STRING, "url": described, "links": {"type": "object", "format": "uri-map"},
            "pre_webhook_url": {"type": "string", "format": "uri"}}},
        "Channel": {"type": "object", "properties": {"sid": channel_sid, "service_sid": sid, "friendly_name": STRING,
                                                     "url": described}},
    }}})


def test_self_urls_and_url_references_name_item_paths_on_the_first_server(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_forge(tmp_path, [{"url": "/relative"}, {"url": "https://forge.example.org/api/v1/"}]))
    base = "https://forge.example.org/api/v1"
    repo = c.get("/repos/search").json()[0]
    assert (repo["full_name"], repo["url"]) == ("stone26/amber1", f"{base}/repos/stone26/amber1")
    issue = c.get("/repos/stone26/amber1/issues/1").json()
    assert issue["url"] == f"{base}/repos/stone26/amber1/issues/1"
    comments = c.get("/repos/stone26/amber1/issues/comments").json()
    assert [x["issue_url"] for x in comments] == [f"{base}/repos/stone26/amber1/issues/{n}" for n in (1, 1, 2)]
    for url in [repo["url"], issue["url"], *(x["issue_url"] for x in comments)]:
        read = c.get(url.removeprefix(base))
        assert read.status_code == 200 and read.json()["url"] == url


def test_web_addresses_and_media_keep_their_generated_values(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_forge(tmp_path))
    issue = c.get("/repos/stone26/amber1/issues/1").json()
    assert (issue["url"], issue["html_url"]) == ("https://api.example.com/repos/stone26/amber1/issues/1",
                                                 "https://www.example.com/issues/101")
    assert c.get("/users/stone26").json()["avatar_url"] == "https://cdn.example.com/avatars/5465196483"


def test_urls_follow_writes(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_forge(tmp_path))
    assert c.patch("/repos/stone26/amber1", json={"name": "renamed"}).status_code == 200
    assert c.get("/repos/stone26/renamed").json()["url"] == "https://api.example.com/repos/stone26/renamed"
    issue = c.get("/repos/stone26/renamed/issues/1").json()
    assert issue["url"] == "https://api.example.com/repos/stone26/renamed/issues/1"
    assert [x["issue_url"] for x in c.get("/repos/stone26/renamed/issues/comments").json()] == [
        f"https://api.example.com/repos/stone26/renamed/issues/{n}" for n in (1, 1, 2)]


def test_an_absolute_resource_url_embeds_its_parents_sids(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_chat(tmp_path))
    service = c.get("/v2/Services").json()["services"][0]
    sid = service["sid"]
    assert service["url"] == f"https://chat.example.com/v2/Services/{sid}"
    assert service["links"] == {"channels": f"https://chat.example.com/v2/Services/{sid}/Channels"}
    assert service["pre_webhook_url"] == f"https://www.example.com/services/{sid}"   # its web address, not the API's
    channel = c.get(f"/v2/Services/{sid}/Channels").json()["channels"][0]
    assert channel["url"] == f"https://chat.example.com/v2/Services/{sid}/Channels/{channel['sid']}"
    assert c.get(channel["url"].removeprefix("https://chat.example.com")).json() == channel
    made = c.post(f"/v2/Services/{sid}/Channels", json={"friendly_name": "general"})
    assert made.status_code == 201
    assert made.json()["url"] == f"https://chat.example.com/v2/Services/{sid}/Channels/{made.json()['sid']}"
    assert c.get(made.json()["url"].removeprefix("https://chat.example.com")).json() == made.json()


def test_an_issue_lists_the_comments_whose_url_names_it_and_a_comment_made_there(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_forge(tmp_path))
    issue = "https://api.example.com/repos/stone26/amber1/issues/1"
    assert [(x["id"], x["issue_url"]) for x in c.get("/repos/stone26/amber1/issues/1/comments").json()] == [
        (101, issue), (102, issue)]
    made = c.post("/repos/stone26/amber1/issues/1/comments", json={"body": "hello"})
    assert made.status_code == 201 and made.json()["issue_url"] == issue
    assert c.patch("/repos/stone26/amber1", json={"name": "moved"}).status_code == 200
    moved = "https://api.example.com/repos/stone26/moved/issues/1"
    assert [(x["id"], x["issue_url"]) for x in c.get("/repos/stone26/moved/issues/1/comments").json()] == [
        (101, moved), (102, moved), (made.json()["id"], moved)]


def test_check_follows_every_url_to_the_same_entity(tmp_path: Path) -> None:
    report = run_check(str(_forge(tmp_path)))
    assert (report.findings, report.counts["links"], report.counts["nested"]) == ([], [44, 44], [21, 21])
    report = run_check(str(_chat(tmp_path)))
    assert (report.findings, report.counts["links"], report.counts["nested"]) == ([], [30, 30], [12, 12])


def _sites(tmp_path: Path) -> Path:
    """Top-level sites and form submissions; a site lists the submissions whose ``site_url`` names it."""
    site = [_param("site_id")]
    return _write(tmp_path, {"openapi": "3.0.3", "info": {"title": "sites", "version": "1"}, "paths": {
        "/sites": {"get": {"operationId": "listSites", "responses": _list("Site")}},
        "/sites/{site_id}": {"get": {"operationId": "getSite", "parameters": site, "responses": _ok(_ref("Site"))}},
        "/sites/{site_id}/submissions": {"get": {"operationId": "listSiteSubmissions", "parameters": site,
                                                 "responses": _list("Submission")}},
        "/submissions": {"get": {"operationId": "listSubmissions", "responses": _list("Submission")}},
        "/submissions/{submission_id}": {"get": {"operationId": "getSubmission", "responses": _ok(
            _ref("Submission")), "parameters": [_param("submission_id")]}},
    }, "components": {"schemas": {
        "Site": {"type": "object", "properties": {"id": STRING, "name": STRING}},
        "Submission": {"type": "object", "properties": {"id": STRING, "body": STRING, "site_url": STRING}},
    }}})


def test_a_top_level_entity_lists_those_whose_url_names_it(app_client, tmp_path: Path) -> None:
    c = app_client(spec=_sites(tmp_path))
    first = c.get("/submissions").json()[0]
    assert first["site_url"] == "https://api.example.com/sites/S7lNWwPDsfaQoRZFgdZTUW"
    assert c.get("/sites/S7lNWwPDsfaQoRZFgdZTUW").status_code == 200
    listed = c.get("/sites/S7lNWwPDsfaQoRZFgdZTUW/submissions").json()
    ids = ("Y3it3ppK0pF0khaKqdQYLL", "G9qr2urFFdRkoI1e5Ft9FM", "jfofP5ujpqiksvIvBpRHyy")
    assert [(x["id"], x["site_url"]) for x in listed] == [(id, first["site_url"]) for id in ids]
