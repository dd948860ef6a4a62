"""Every error is problem JSON, and it keeps what HTTP says beside it."""

from __future__ import annotations


def test_a_method_the_admin_path_lacks_is_a_405_problem_that_says_what_is_allowed(app_client):
    c = app_client()
    r = c.patch("/api/v1/consistency/clock", json={})
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
    assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD"}   # Starlette lists them in set order
    assert (r.json()["title"], r.json()["field"]) == ("Method not allowed", "method")
