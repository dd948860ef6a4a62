"""A spec file loaded again in one process (each test's app, `check`'s in-process server) is not parsed again:
the loader keeps the last loads by path and content, and each caller gets a copy of its own. The bundled
config and lifecycle files are parsed once per process, also copied per caller."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mockverse import yamlsafe
from mockverse.config import load_config
from mockverse.openapi import loader
from mockverse.openapi.loader import SpecError, load_spec

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "specs"
PETS = """openapi: 3.0.3
info: {title: Pets, version: "1"}
paths:
  /pets/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: a pet
          content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}
components:
  schemas:
    Pet: {type: object, properties: {name: {type: string}, kind: {type: string, enum: [cat, dog]}}}
"""


def test_a_second_load_is_not_parsed_again_and_is_a_copy_of_its_own(tmp_path, monkeypatch):
    file = tmp_path / "pets.yaml"
    file.write_text(PETS)
    first = load_spec(file)
    first.schemas["Pet"]["properties"]["kind"]["enum"].append("owl")   # a caller changing its copy

    def parse(text: str, file: str) -> dict:
        raise AssertionError(f"{file} parsed again")

    monkeypatch.setattr(loader, "_parse", parse)
    second = load_spec(file)
    pet = second.schemas["Pet"]
    assert pet["properties"]["kind"]["enum"] == ["cat", "dog"]
    assert second.operations[0].responses["200"].schema is pet
    assert (second.schema_name(pet), second.title, second.source) == ("Pet", "Pets", str(file))
    assert load_spec(file).schemas["Pet"] is not pet


def test_recursive_schemas_stay_cyclic_and_named_in_a_copy():
    load_spec(FIXTURES / "recursive.yaml")
    spec = load_spec(FIXTURES / "recursive.yaml")
    node = spec.schemas["Node"]
    assert node["properties"]["children"]["items"] is node
    assert spec.schema_name(node["properties"]["meta"]) == "tilde~name"
    assert spec.schema_name(dict(node)) is None   # an equal object that is not the schema has no name


def test_a_file_changed_in_place_is_read_again_whatever_its_size_and_time(tmp_path):
    file = tmp_path / "pets.yaml"
    file.write_text(PETS)
    stat = file.stat()
    assert load_spec(file).schemas["Pet"]["properties"]["kind"]["enum"] == ["cat", "dog"]
    file.write_text(PETS.replace("cat, dog", "cow, dog"))   # same size
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns))    # same modification time
    assert load_spec(file).schemas["Pet"]["properties"]["kind"]["enum"] == ["cow", "dog"]
    file.write_text(PETS.replace("paths:", "paths: 7\nx:"))
    with pytest.raises(SpecError, match="expected a mapping of path templates"):
        load_spec(file)
    with pytest.raises(SpecError, match="expected a mapping of path templates"):   # an error is not kept
        load_spec(file)


def test_the_bundled_files_are_parsed_once_and_copied_per_caller():
    first = yamlsafe.bundled("lifecycle.yaml")
    first["mix"].clear()                   # a caller changing its copy
    assert yamlsafe.bundled("lifecycle.yaml")["mix"] != {}
    assert yamlsafe.bundled("lifecycle.yaml") is not yamlsafe.bundled("lifecycle.yaml")
    assert load_config(overrides={"seed": "7"}).seed == "7" and load_config().seed == 42
