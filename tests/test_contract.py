"""Every GraphQL document the client sends, checked against Speckle's real schema; and the sandbox's
schema checked to be a faithful subset of it. Skips where ../shared/speckle-schema is absent."""

from __future__ import annotations

from functools import cache

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    build_ast_schema,
    parse,
    validate,
)
from graphql.validation.validate import validate_sdl

from speckle_uploader.sandbox import Flavor
from speckle_uploader.sandbox.graphql_api import schema_for
from speckle_uploader.speckle import operations
from speckle_uploader.speckle.models import ServerKind
from tests.conftest import SHARED_SCHEMA

pytestmark = pytest.mark.skipif(not SHARED_SCHEMA.is_dir(), reason="../shared/speckle-schema is not here")

# The real SDL defines Workspace.defaultSeatType twice (graphql-tools merges it; graphql-core refuses).
KNOWN_SDL_ERROR = "Field 'Workspace.defaultSeatType' can only be defined once."


@cache
def real_schema(with_cloud_delta: bool) -> GraphQLSchema:
    server = SHARED_SCHEMA / "server"
    files = [server / "_base" / "base-and-directives.graphql"]
    files += sorted(p for p in server.rglob("*") if p.suffix in (".graphql", ".gql") and "_base" not in p.parts)
    if with_cloud_delta:
        files += sorted((SHARED_SCHEMA / "app-speckle-systems-delta").glob("*.graphql"))
    document = parse("\n".join(p.read_text(encoding="utf-8") for p in files))
    errors = [str(e.message) for e in validate_sdl(document)]
    assert errors in ([], [KNOWN_SDL_ERROR]), errors
    return build_ast_schema(document, assume_valid_sdl=True)


FLAVOR_OF = {ServerKind.CLOUD_INGESTION: Flavor.CLOUD, ServerKind.FILE_IMPORT: Flavor.FILE_IMPORT,
             ServerKind.LEGACY_REST: Flavor.LEGACY}
DOCUMENTS = [pytest.param(doc, kinds, id=parse(doc).definitions[0].name.value)  # type: ignore[attr-defined]
             for doc, kinds in operations.SERVER_KINDS.items()]


@pytest.mark.parametrize(("document", "kinds"), DOCUMENTS)
def test_operation_valid_against_real_schema(document: str, kinds: frozenset[ServerKind]) -> None:
    if ServerKind.CLOUD_INGESTION in kinds:
        assert validate(real_schema(True), parse(document)) == []
    if kinds - {ServerKind.CLOUD_INGESTION}:
        assert validate(real_schema(False), parse(document)) == []


@pytest.mark.parametrize(("document", "kinds"), DOCUMENTS)
def test_sandbox_serves_every_operation(document: str, kinds: frozenset[ServerKind]) -> None:
    for kind in kinds:
        assert validate(schema_for(FLAVOR_OF[kind]), parse(document)) == [], kind


def test_cloud_only_documents_fail_on_open_source_schema() -> None:
    """The open-source schema really lacks the ingestion API: the probe's decision matters."""
    errors = validate(real_schema(False), parse(operations.START_FILE_INGESTION))
    assert "Cannot query field 'startFileIngestion'" in errors[0].message


@pytest.mark.parametrize("flavor", list(Flavor), ids=lambda f: f.value)
def test_sandbox_schema_is_a_subset_of_the_real_one(flavor: Flavor) -> None:
    real = real_schema(flavor is Flavor.CLOUD)
    mine = schema_for(flavor)
    for name, ours in mine.type_map.items():
        if name.startswith("__") or name in ("String", "Int", "Float", "Boolean", "ID"):
            continue
        theirs = real.type_map.get(name)
        assert theirs is not None, f"type {name} does not exist on the real server"
        assert type(theirs) is type(ours), name
        if isinstance(ours, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in ours.fields.items():
                real_field = theirs.fields.get(field_name)  # type: ignore[union-attr]
                assert real_field is not None, f"{name}.{field_name} does not exist on the real server"
                assert str(field.type) == str(real_field.type), f"{name}.{field_name}"
                for arg_name, arg in getattr(field, "args", {}).items():
                    assert arg_name in real_field.args, f"{name}.{field_name}({arg_name})"
                    assert str(arg.type) == str(real_field.args[arg_name].type), f"{name}.{field_name}({arg_name})"
        if isinstance(ours, GraphQLEnumType):
            assert set(ours.values) <= set(theirs.values), name  # type: ignore[attr-defined]
        if isinstance(ours, GraphQLUnionType):
            assert {t.name for t in ours.types} == {t.name for t in theirs.types}, name  # type: ignore[attr-defined]
