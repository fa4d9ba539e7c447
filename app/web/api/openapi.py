"""GET /api/v1/openapi.json: the API described for people and client generators.

Long because it is one table of every path and schema: split, the document could no longer
be read (or checked against the routes) in one place."""

from __future__ import annotations

from flask import jsonify

from app.web.api import openapi_retry
from app.web.api.blueprint import bp

_ID = {"type": "string", "format": "uuid"}
_ERROR = {
    "description": "Error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _op(summary: str, *, params=(), body=None, ok: str = "200", role: str = "viewer") -> dict:
    operation = {
        "summary": summary,
        "description": f"Needs at least the {role} role in the project.",
        "parameters": [
            {
                "name": name,
                "in": where,
                "required": where == "path",
                "schema": _ID if name.endswith("_id") else {"type": "string"},
            }
            for name, where in params
        ],
        "responses": {
            ok: {"description": "OK"},
            "400": _ERROR,
            "401": _ERROR,
            "403": _ERROR,
            "404": _ERROR,
            "422": _ERROR,
            # The per-token rate limit (FERRY_API_REQUESTS_PER_MINUTE), with Retry-After.
            "429": _ERROR,
        },
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    return operation


def _stale_version(operation: dict) -> dict:
    """A PUT with ?lock_version=N answers 409 when someone saved since version N, naming the
    current version and who saved it (app/services/studio/conflicts.py)."""
    fields = {"type": "integer"}, {"type": "string", "nullable": True}
    operation["responses"]["409"] = {
        "description": "Someone saved since lock_version: the error, your_version, "
        "current_version, saved_by (a name) and saved_at (ISO 8601).",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "error": {"type": "string"},
                        "status": {"type": "integer"},
                        "your_version": fields[0],
                        "current_version": fields[0],
                        "saved_by": fields[1],
                        "saved_at": {**fields[1], "format": "date-time"},
                    },
                }
            }
        },
    }
    return operation


_JSON_OBJECT = {"application/json": {"schema": {"type": "object"}}}
_DOCUMENT = {
    "application/yaml": {"schema": {"type": "string"}},
    "application/json": {"schema": {"$ref": "#/components/schemas/WorkflowDocument"}},
}
_P, _W, _R = ("project_id", "path"), ("workflow_id", "path"), ("run_id", "path")
_PROJECT_DOCUMENT = {
    "application/yaml": {"schema": {"type": "string"}},
    "application/json": {"schema": {"$ref": "#/components/schemas/ProjectDocument"}},
}

SPEC = {
    "openapi": "3.1.0",
    "info": {
        "title": "Ferry API",
        "version": "1.0.0",
        "description": "Projects, workflows, runs and retries. Authenticate with "
        "`Authorization: Bearer <token>` (`ferry create-token EMAIL`).",
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}],
    "paths": {
        "/projects": {
            "get": _op("List the projects you can open"),
            "post": _op("Create a project (you become its owner)", body=_JSON_OBJECT, ok="201"),
        },
        "/projects/document": {
            "post": _op(
                "Create a project from a project document (you become its owner); "
                "?dry_run=true only lists what it would create",
                params=[("dry_run", "query")],
                body=_PROJECT_DOCUMENT,
                ok="201",
            )
            | {"description": "Superusers only."},
        },
        "/projects/{project_id}/document": {
            "get": _op(
                "The whole project as a document (project.yaml): ?format=yaml for YAML, "
                "?ids=true to add the ids (and workflow lock versions) that updates match on",
                params=[_P, ("format", "query"), ("ids", "query")],
            ),
            "put": _op(
                "Make the project match a document (workflows matched by id, then name; "
                "delete: true deletes; workflows left out are left alone). Answers the "
                "document with ids and the changes; ?dry_run=true changes nothing. A bad "
                "document is refused whole (422) with every problem at its path",
                params=[_P, ("dry_run", "query")],
                body=_PROJECT_DOCUMENT,
                role="admin",
            ),
        },
        "/projects/{project_id}/egress_allowlist": {
            "get": _op("The internal systems the project's steps may reach", params=[_P]),
            "put": _op(
                'Replace the egress allowlist: {"entries": ["10.0.0.5:8080", ...]}; the answer '
                "holds the tidied entries and warnings about what they open",
                params=[_P],
                body={"application/json": {"schema": {"$ref": "#/components/schemas/Allowlist"}}},
                role="admin",
            ),
        },
        "/projects/{project_id}/run_limits": {
            "get": _op(
                "The project's run limits (null: the server's default) and the server's "
                "defaults and maxima",
                params=[_P],
            ),
            "put": _op(
                'Replace the run limits: {"run_timeout_s": 60, "step_memory_mb": 256, '
                '"max_payload_kb": 512, "discard_logs": true}; a key left out or null means '
                "the server's default. A value above the server's maximum is refused (422)",
                params=[_P],
                role="admin",
            ),
        },
        "/projects/{project_id}/workflows": {
            "get": _op("List a project's workflows", params=[_P]),
            "post": _op(
                "Create a workflow from a YAML or JSON document",
                params=[_P],
                body=_DOCUMENT,
                ok="201",
                role="editor",
            ),
        },
        "/workflows/{workflow_id}": {
            "get": _op("Get a workflow with trigger ids and webhook URLs", params=[_W]),
            "put": _stale_version(
                _op(
                    "Replace a workflow (pass ?lock_version=N to detect conflicts)",
                    params=[_W, ("lock_version", "query"), ("message", "query")],
                    body=_DOCUMENT,
                    role="editor",
                )
            ),
            "delete": _op("Delete a workflow", params=[_W], ok="204", role="editor"),
        },
        "/workflows/{workflow_id}/runs": {
            "post": _op(
                "Start a run with empty, custom or stored input",
                params=[_W],
                body=_JSON_OBJECT,
                ok="201",
                role="editor",
            ),
        },
        "/work_orders/{work_order_id}": {
            "get": _op(
                "Get a work order with its runs and steps", params=[("work_order_id", "path")]
            ),
        },
        "/runs/{run_id}": {"get": _op("Get a run with its steps", params=[_R])},
        "/runs/{run_id}/logs": {
            "get": _op("Get a run's log lines", params=[_R, ("level", "query")]),
        },
        "/runs/{run_id}/retry": {
            "post": _op(
                "Retry a run from the start or from a step",
                params=[_R],
                body=_JSON_OBJECT,
                ok="201",
                role="editor",
            ),
        },
        "/runs/{run_id}/retry_now": {
            "post": _op("Try a waiting run's next attempt now", params=[_R], role="editor"),
        },
        "/runs/{run_id}/give_up": {
            "post": _op("Give up a waiting run's retries (it fails)", params=[_R], role="editor"),
        },
        "/runs/{run_id}/cancel": {
            "post": _op("Cancel a run still waiting for a worker", params=[_R], role="editor"),
        },
        "/projects/{project_id}/runs": {
            "get": _op(
                "List runs newest first (keyset paging)",
                params=[
                    _P,
                    ("state", "query"),
                    ("workflow_id", "query"),
                    ("limit", "query"),
                    ("cursor", "query"),
                ],
            ),
        },
        "/projects/{project_id}/bulk_rerun": {
            "post": _op(
                "Rerun many work orders in the background",
                params=[_P],
                body=_JSON_OBJECT,
                ok="202",
                role="editor",
            ),
        },
        "/projects/{project_id}/bulk_rerun/{bulk_rerun_id}": {
            "get": _op("Progress of a bulk rerun", params=[_P, ("bulk_rerun_id", "path")]),
        },
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error", "status"],
                "properties": {
                    "error": {"type": "string"},
                    "status": {"type": "integer"},
                    "field": {"type": "string", "description": "The field or document path to fix"},
                    "problems": {
                        "type": "array",
                        "description": "Every problem of a workflow document, each with its path",
                        "items": {
                            "type": "object",
                            "properties": {
                                "path": {"type": "string"},
                                "message": {"type": "string"},
                                "level": {"type": "string"},
                            },
                        },
                    },
                },
            },
            "Allowlist": {
                "type": "object",
                "required": ["entries"],
                "properties": {
                    "entries": {
                        "type": "array",
                        "maxItems": 200,
                        "description": "An IP address, CIDR range or hostname, each with an "
                        "optional port: 10.0.0.5, 10.0.0.0/24, dhis2.lan, [fd00::5]:443",
                        "items": {"type": "string", "maxLength": 260},
                    },
                },
            },
            "ProjectDocument": {
                "type": "object",
                "required": ["name"],
                "description": "A whole project (project.yaml): name, description, settings, "
                "credentials shared into it by name (never secrets), and workflows by key, "
                "each a WorkflowDocument (plus optional id, lock_version and delete: true).",
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "settings": {
                        "type": "object",
                        "properties": {
                            "egress_allowlist": {"type": "array", "items": {"type": "string"}},
                            "require_mfa": {"type": "boolean"},
                            "concurrency": {"type": ["integer", "null"]},
                            "alert_limit_count": {"type": "integer"},
                            "alert_limit_minutes": {"type": "integer"},
                            "alert_include_logs": {"type": "boolean"},
                        },
                    },
                    "credentials": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "properties": {"type": {"type": "string"}},
                        },
                    },
                    "workflows": {
                        "type": "object",
                        "additionalProperties": {"$ref": "#/components/schemas/WorkflowDocument"},
                    },
                },
            },
            "WorkflowDocument": {
                "type": "object",
                "required": ["name"],
                "description": "Keys as in OpenFn Lightning's project.yaml: name, "
                "concurrency, retry_policy, triggers, jobs, edges (a job may hold its own "
                "retry_policy).",
                "properties": {
                    "name": {"type": "string"},
                    "concurrency": {"type": "integer"},
                    "retry_policy": {"$ref": "#/components/schemas/RetryPolicy"},
                    "triggers": {"type": "object"},
                    "jobs": {"type": "object"},
                    "edges": {"type": "object"},
                },
            },
            "RetryPolicy": openapi_retry.RETRY_POLICY,
        },
    },
}


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 document of this API (no token needed)."""
    return jsonify(SPEC)
