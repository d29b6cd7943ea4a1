"""The OpenAPI 3.1 document of a simulated agency, built from its declared resources.

Each agency writes the JSON Schema of its items by hand; this module lays out the same paths
that ``app.build_app`` serves, so the document cannot drift from the routes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from integrations.simulators.app import Resource

_ERROR = {"$ref": "#/components/schemas/Error"}
_JSON = "application/json"


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": _ERROR}}}


def _resource_paths(resource: Resource, max_batch: int) -> dict[str, Any]:
    item = {"$ref": f"#/components/schemas/{resource.schema_name}"}
    single = {
        "get": {
            "operationId": f"get_{resource.operation}",
            "summary": resource.summary,
            "security": [{"apiKey": []}],
            "parameters": [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "description": resource.id_description,
                    "schema": {"type": "string"},
                }
            ],
            "responses": {
                "200": {"description": "Found", "content": {_JSON: {"schema": item}}},
                "400": _error_response("The identifier is not valid"),
                "401": _error_response("Missing or wrong API key"),
                "404": _error_response("Not registered with this agency"),
            },
        }
    }
    batch = {
        "post": {
            "operationId": f"batch_{resource.operation}",
            "summary": f"{resource.summary}, many at once",
            "security": [{"apiKey": []}],
            "requestBody": {
                "required": True,
                "content": {
                    _JSON: {
                        "schema": {
                            "type": "object",
                            "required": ["ids"],
                            "properties": {
                                "ids": {
                                    "type": "array",
                                    "items": {"type": "string"},
                                    "maxItems": max_batch,
                                }
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "Every requested identifier, null when not registered",
                    "content": {
                        _JSON: {
                            "schema": {
                                "type": "object",
                                "required": ["items", "invalid"],
                                "properties": {
                                    "items": {
                                        "type": "object",
                                        "additionalProperties": {"oneOf": [item, {"type": "null"}]},
                                    },
                                    "invalid": {"type": "array", "items": {"type": "string"}},
                                },
                            }
                        }
                    },
                },
                "400": _error_response("The body is not an object with an ids list"),
                "401": _error_response("Missing or wrong API key"),
                "413": _error_response(f"More than {max_batch} identifiers"),
            },
        }
    }
    return {f"/v1/{resource.name}/{{id}}": single, f"/v1/{resource.name}:batch": batch}


def _plain(operation: str, summary: str) -> dict[str, Any]:
    ok = {"description": "OK", "content": {_JSON: {"schema": {"type": "object"}}}}
    return {"operationId": operation, "summary": summary, "responses": {"200": ok}}


def _admin_paths() -> dict[str, Any]:
    set_faults = _plain("set_faults", "Replace the fault knobs")
    set_faults["requestBody"] = {
        "required": True,
        "content": {_JSON: {"schema": {"type": "object"}}},
    }
    set_faults["responses"]["400"] = _error_response("Unknown or invalid knob")
    return {
        "/healthz": {"get": _plain("healthz", "Liveness")},
        "/openapi.json": {"get": _plain("openapi", "This document")},
        "/_admin/faults": {"get": _plain("get_faults", "Current fault knobs"), "post": set_faults},
        "/_admin/stats": {
            "get": _plain("get_stats", "Calls per endpoint"),
            "delete": _plain("reset_stats", "Reset the counters"),
        },
    }


def document(
    agency: str, title: str, resources: Sequence[Resource], *, max_batch: int
) -> dict[str, Any]:
    """The OpenAPI 3.1 document for one simulated agency."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                }
            },
        }
    }
    for resource in resources:
        paths.update(_resource_paths(resource, max_batch))
        schemas[resource.schema_name] = resource.schema
    paths.update(_admin_paths())
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0", "x-agency": agency},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}},
        },
    }
