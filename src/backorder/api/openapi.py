"""The OpenAPI document, finished: errors are filed under application/problem+json (which is
what the API sends), and every POST documents its Idempotency-Key header and the 409 and 422
answers the idempotency layer can give."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from backorder.api.problems import PROBLEM

PROBLEM_REF = "#/components/schemas/Problem"
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retrying with the same key and body returns the first answer without "
    "doing the work again; the same key with another body is refused (422).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def _file_problems(operation: dict[str, Any]) -> None:
    for response in operation.get("responses", {}).values():
        content = response.get("content", {})
        json = content.get("application/json")
        if json and json.get("schema", {}).get("$ref") == PROBLEM_REF:
            content[PROBLEM] = content.pop("application/json")


def _idempotent(operation: dict[str, Any]) -> None:
    operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
    responses = operation.setdefault("responses", {})
    responses.setdefault(
        "409",
        {
            "description": "A request with this Idempotency-Key is still running",
            "content": {PROBLEM: {"schema": {"$ref": PROBLEM_REF}}},
        },
    )


def install(app: FastAPI) -> None:
    def document() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        for item in schema["paths"].values():
            for method, operation in item.items():
                _file_problems(operation)
                if method == "post":
                    _idempotent(operation)
        app.openapi_schema = schema
        return schema

    app.openapi = document  # type: ignore[method-assign]
