"""The OpenAPI description `qa serve` gives at /openapi.json (plain data, built from the request limits)."""

from __future__ import annotations

from qa import config
from qa.ui.serve_checks import JSON, MAX_BATCH_BYTES, MAX_BODY_BYTES, MAX_CONTEXT_LINES, MAX_K, MAX_QUESTION_CHARS

_ERROR: JSON = {"$ref": "#/components/schemas/Error"}
_ANSWER: JSON = {"$ref": "#/components/schemas/Answer"}


def _errors(*statuses: int) -> dict[str, JSON]:
    reasons = {400: "Malformed JSON, an unknown or ill-typed field, an empty or over-long question",
               401: "Missing or wrong bearer token (servers started with a token)",
               404: "The citation names nothing in the index", 413: "The body is over the limit",
               503: "The index cannot answer that now (e.g. dense search without a model)"}
    return {str(s): {"description": reasons[s], "content": {"application/json": {"schema": _ERROR}}} for s in statuses}


OPENAPI: dict[str, JSON] = {
    "openapi": "3.1.0",
    "info": {"title": "qa serve", "version": "1",
             "description": "Cited passages from one local index; the JSON `qa ask --json` prints."},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
            "AskRequest": {"type": "object", "required": ["question"], "additionalProperties": False, "properties": {
                "question": {"type": "string", "minLength": 1, "maxLength": MAX_QUESTION_CHARS},
                "k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": config.DEFAULT_K},
                "mode": {"enum": list(config.MODES), "default": config.DEFAULT_MODE},
                "max_per_file": {"type": ["integer", "null"], "minimum": 1, "default": None},
                "explain": {"type": "boolean", "default": False}}},
            "Answer": {"type": "object", "description": "As `qa ask --json` prints it.",
                       "required": ["question", "mode", "answered", "confidence", "answer_confidence", "why", "results"],
                       "properties": {"question": {"type": "string"}, "mode": {"type": "string"},
                                      "answered": {"type": ["boolean", "null"]},
                                      "confidence": {"type": ["number", "null"]},
                                      "answer_confidence": {"type": ["number", "null"]},
                                      "why": {"type": ["array", "null"], "items": {"type": "object"}},
                                      "results": {"type": "array", "items": {"type": "object", "properties": {
                                          "rank": {"type": "integer"}, "citation": {"type": "string"},
                                          "file": {"type": "string"}, "text": {"type": "string"}}}}}},
        },
    },
    "paths": {
        "/ask": {"post": {
            "summary": "Answer one question",
            "requestBody": {"required": True, "description": f"At most {MAX_BODY_BYTES:,} bytes.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AskRequest"}}}},
            "responses": {"200": {"description": "The answer", "content": {"application/json": {"schema": _ANSWER}}},
                          **_errors(400, 401, 413, 503)}}},
        "/batch": {"post": {
            "summary": "Answer one question a line, streamed back one JSON line each (as qa batch)",
            "parameters": [
                {"name": "k", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_K}},
                {"name": "mode", "in": "query", "schema": {"enum": list(config.MODES)}},
                {"name": "max_per_file", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                {"name": "explain", "in": "query", "schema": {"type": "boolean"}}],
            "requestBody": {"required": True, "description": f"Plain questions or JSON lines {{\"id\", \"question\"}}; "
                                                             f"at most {MAX_BATCH_BYTES:,} bytes.",
                            "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                                        "text/plain": {"schema": {"type": "string"}}}},
            "responses": {"200": {"description": "One JSON line a question: an answer with its id, or "
                                                 "{id, line, error}",
                                  "content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
                          **_errors(400, 401, 413)}}},
        "/show": {"get": {
            "summary": "The passage a citation names, with the lines around it",
            "parameters": [
                {"name": "citation", "in": "query", "required": True, "schema": {"type": "string"},
                 "example": "notes.txt:12-18"},
                {"name": "context", "in": "query",
                 "schema": {"type": "integer", "minimum": 0, "maximum": MAX_CONTEXT_LINES, "default": 3}}],
            "responses": {"200": {"description": "citation, file, start, end, cited lines, cited_text, and lines "
                                                 "[{number, cited, text}]",
                                  "content": {"application/json": {"schema": {"type": "object"}}}},
                          **_errors(400, 401, 404)}}},
        "/health": {"get": {
            "summary": "The index in use (generation, passages, files), the model, the uptime",
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}},
                          **_errors(401)}}},
        "/openapi.json": {"get": {"summary": "This description", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
    },
}
