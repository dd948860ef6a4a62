"""The `wiremock` client from PyPI, unchanged, against a real mockverse process; and the stub faults,
which need a real socket to break."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess

import httpx
import orjson
import pytest
from wiremock.constants import Config
from wiremock.resources.mappings import Mapping, MappingRequest, MappingResponse
from wiremock.resources.mappings.resource import Mappings
from wiremock.resources.near_misses import NearMissMatchPatternRequest
from wiremock.resources.requests.resource import Requests
from wiremock.resources.scenarios.resource import Scenarios

from conftest import ROOT

README = ROOT / "README.md"


@pytest.fixture(scope="module")
def admin(live_server):
    """The client pointed at the module's real server process (the PyPI client speaks HTTP over a socket;
    its base URL is process-wide config)."""
    previous = Config.base_url
    Config.base_url = f"{live_server.url}/__admin"
    yield live_server
    Config.base_url = previous


def test_the_pypi_client_drives_mappings_requests_and_scenarios(admin):
    Mappings.delete_all_mappings()
    Requests.reset_request_journal()
    created = Mappings.create_mapping(Mapping(
        priority=1,
        request=MappingRequest(method="GET", url_path="/users/3", headers={"X-Test": {"equalTo": "yes"}}),
        response=MappingResponse(status=200, json_body={"name": "{{persona.name}}", "stubbed": True}),
        scenario_name="flow", required_scenario_state="Started", new_scenario_state="done",
    ))
    assert created.id and created.request.url_path == "/users/3"
    assert Mappings.retrieve_mapping(created.id).response.status == 200
    listed = Mappings.retrieve_all_mappings()
    assert (listed.meta.total, [m.id for m in listed.mappings]) == (1, [created.id])

    world = httpx.get(f"{admin.url}/users/3").json()
    answered = httpx.get(f"{admin.url}/users/3", headers={"X-Test": "yes"})
    assert answered.json() == {"name": world["name"], "stubbed": True}
    assert httpx.get(f"{admin.url}/users/3", headers={"X-Test": "yes"}).json() == world   # the scenario moved on

    count = Requests.get_matching_request_count(NearMissMatchPatternRequest(url_path="/users/3", method="GET"))
    assert count.count == 3
    found = Requests.get_matching_requests(
        NearMissMatchPatternRequest(url_path="/users/3", headers={"X-Test": {"equalTo": "yes"}})
    )
    assert [r.url for r in found.requests] == ["/users/3", "/users/3"]
    everything = Requests.get_all_received_requests()
    assert everything.meta.total == 3 and everything.requests[0].request.method == "GET"

    near = Requests.get_unmatched_requests_near_misses()
    assert [n.match_result.distance for n in near.near_misses][:1] == [0.3333]
    Scenarios.reset_all_scenarios()
    assert httpx.get(f"{admin.url}/users/3", headers={"X-Test": "yes"}).json()["stubbed"] is True

    created.response = MappingResponse(status=418)
    assert Mappings.update_mapping(created).response.status == 418
    Mappings.delete_mapping(created.id)
    assert Mappings.retrieve_all_mappings().meta.total == 0
    Requests.reset_request_journal()
    assert Requests.get_all_received_requests().meta.total == 0


def _raw_get(url: str, path: str) -> bytes:
    """Send a GET over a plain socket and read until the server closes or resets the connection."""
    host, port = url.removeprefix("http://").split(":")
    received = b""
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            return b"<reset>" + received
    return received


@pytest.mark.parametrize("fault, expected", [
    ("EMPTY_RESPONSE", b""),
    ("CONNECTION_RESET_BY_PEER", b"<reset>"),
])
def test_faults_break_the_connection_at_run_time(admin, fault, expected):
    Mappings.create_mapping(Mapping(request=MappingRequest(url_path=f"/fault/{fault}"),
                                    response=MappingResponse(fault=fault)))
    assert _raw_get(admin.url, f"/fault/{fault}") == expected


def test_malformed_chunk_and_random_data_faults(admin):
    for fault in ("MALFORMED_RESPONSE_CHUNK", "RANDOM_DATA_THEN_CLOSE"):
        Mappings.create_mapping(Mapping(request=MappingRequest(url_path=f"/fault/{fault}"),
                                        response=MappingResponse(fault=fault)))
    malformed = _raw_get(admin.url, "/fault/MALFORMED_RESPONSE_CHUNK")
    assert malformed.startswith(b"HTTP/1.1 200 OK\r\n") and malformed.endswith(b"zz\r\n")
    garbage = _raw_get(admin.url, "/fault/RANDOM_DATA_THEN_CLOSE")
    assert len(garbage) == 256 and garbage == _raw_get(admin.url, "/fault/RANDOM_DATA_THEN_CLOSE")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{admin.url}/fault/RANDOM_DATA_THEN_CLOSE")


def test_the_readme_stubs_block_runs_as_printed(admin):
    """The curl lines of the README's Stubs section, against this server (only the port differs)."""
    httpx.post(f"{admin.url}/__admin/reset", headers={"Content-Type": "application/json"})
    section = README.read_text().split("\n## Stubs\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for block in re.findall(r"```sh\n(.*?)```", section, re.S) for line in block.splitlines()
             if line.startswith("curl ")]
    out = []
    for line in lines:
        args = shlex.split(line.replace("127.0.0.1:3000", admin.url.removeprefix("http://")))
        done = subprocess.run(args, capture_output=True, timeout=30)
        assert done.returncode == 0, f"{line}\n{done.stderr.decode()}"
        out.append(done.stdout)
    assert len(out) == 6
    user = httpx.get(f"{admin.url}/users/3").json()
    order = httpx.get(f"{admin.url}/orders/3001").json()
    assert orjson.loads(out[1]) == {"error": "boom"}
    assert orjson.loads(out[3]) == {"hello": user["name"], "id": "3", "total": order["total"]}
    assert orjson.loads(out[4]) == {"count": 2}
    assert (orjson.loads(out[5]), httpx.get(f"{admin.url}/__admin/mappings").json()["meta"]) == ({}, {"total": 0})
