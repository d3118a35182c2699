"""The REST API: FastAPI routes over AdhocCommands, acting as the caller.

The paths keep the original API's word "job" (/jobs/{id}); in this code a "run" is one
AdhocCommand, and a batch Job is never meant.

Run: uvicorn --factory orchestrator.api.app:create_app --host 127.0.0.1 --port 8080
"""

import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from orchestrator import credentials
from orchestrator.api.models import DNS_LABEL, Error, NewRun, RunList, adhoc_from, summary_of, with_id
from orchestrator.api.upstream import Upstream, UpstreamError
from orchestrator.output import OUTPUT_KEY
from orchestrator.spec import FINISHED_PHASES, max_bytes

DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

bearer = HTTPBearer(auto_error=False, description="A Kubernetes bearer token; the API acts as its owner")
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Error, "description": "No bearer token, or one the cluster does not accept"},
    403: {"model": Error, "description": "The token's owner may not do this (Kubernetes RBAC)"},
    422: {"model": Error, "description": "The request is invalid; `fields` names what is wrong"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Error, "description": "No such job"}}

RunId = Annotated[str, Path(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN, description="The job's id")]


def upstream(request: Request) -> Upstream:
    return request.app.state.upstream


def token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise UpstreamError(401, "a Kubernetes bearer token is required (Authorization: Bearer <token>)")
    return credentials.credentials


def namespace(request: Request, namespace: Annotated[str | None, Query(
        min_length=1, max_length=63, pattern=DNS_LABEL, description="Namespace (default: the service's)")] = None,
) -> str:
    return namespace or request.app.state.default_namespace


# Module-level aliases: FastAPI reads a route's annotations from the module's namespace.
Token = Annotated[str, Depends(token)]
Api = Annotated[Upstream, Depends(upstream)]
Namespace = Annotated[str, Depends(namespace)]

routes = APIRouter()


async def fetch(api: Upstream, bearer_token: str, namespace: str, run_id: str) -> dict[str, Any]:
    """The AdhocCommand of a run, or 404 naming it."""
    try:
        return await api.get(bearer_token, namespace, run_id)
    except UpstreamError as err:
        if err.status == 404:
            raise UpstreamError(404, f"job {run_id} not found in namespace {namespace}") from err
        raise


@routes.get("/", summary="Health")
async def health() -> dict[str, str]:
    return {"status": "alive"}


@routes.post("/jobs", status_code=201, responses=ERRORS, summary="Run a command")
async def create_run(run: NewRun, api: Api, bearer_token: Token, namespace: Namespace) -> dict[str, Any]:
    # The namespace: the body's, else ?namespace=, else the service's default.
    return with_id(await api.create(bearer_token, adhoc_from(run, run.namespace or namespace)))


@routes.get("/jobs", response_model=RunList, response_model_by_alias=True, responses=ERRORS, summary="List runs")
async def list_runs(api: Api, bearer_token: Token, namespace: Namespace,
                    limit: Annotated[int, Query(ge=1, le=500)] = 50,
                    continue_: Annotated[str | None, Query(alias="continue", max_length=4096)] = None,
                    ) -> RunList:
    page = await api.list(bearer_token, namespace, limit, continue_)
    items = [summary_of(item) for item in page.get("items") or []]
    return RunList.model_validate({"items": items, "continue": (page.get("metadata") or {}).get("continue") or None})


@routes.get("/jobs/{run_id}", responses=ERRORS | NOT_FOUND, summary="A run's AdhocCommand")
async def get_run(run_id: RunId, api: Api, bearer_token: Token, namespace: Namespace) -> dict[str, Any]:
    return with_id(await fetch(api, bearer_token, namespace, run_id))


@routes.get("/jobs/{run_id}/status", responses=ERRORS | NOT_FOUND, summary="A run's status")
async def get_status(run_id: RunId, api: Api, bearer_token: Token, namespace: Namespace) -> dict[str, Any]:
    return (await fetch(api, bearer_token, namespace, run_id)).get("status") or {}


@routes.get("/jobs/{run_id}/logs", responses=ERRORS | NOT_FOUND | {200: {"content": {"text/plain": {}}}},
            response_class=Response, summary="A run's output")
async def get_logs(run_id: RunId, api: Api, bearer_token: Token, namespace: Namespace) -> Response:
    adhoc = await fetch(api, bearer_token, namespace, run_id)
    status = adhoc.get("status") or {}
    stored = (status.get("logs") or {}).get("configMap")
    data = b""
    if stored and status.get("phase") in FINISHED_PHASES:
        data = stored_output(await api.configmap(bearer_token, namespace, stored))
    elif status.get("podName"):
        try:
            data = await api.pod_log(bearer_token, namespace, status["podName"], max_bytes(adhoc.get("spec") or {}))
        except UpstreamError as err:
            if err.status not in (400, 404):  # not started yet, or gone: no output to show
                raise
    return Response(content=data, media_type="text/plain; charset=utf-8")


def stored_output(configmap: dict[str, Any]) -> bytes:
    """The output a logs ConfigMap holds (text, or bytes that are not UTF-8)."""
    if OUTPUT_KEY in (configmap.get("binaryData") or {}):
        return base64.b64decode(configmap["binaryData"][OUTPUT_KEY])
    return (configmap.get("data") or {}).get(OUTPUT_KEY, "").encode()


@routes.delete("/jobs/{run_id}", responses=ERRORS | NOT_FOUND, summary="Delete a run, its Job and its output")
async def delete_run(run_id: RunId, api: Api, bearer_token: Token, namespace: Namespace) -> dict[str, Any]:
    try:
        await api.delete(bearer_token, namespace, run_id)
    except UpstreamError as err:
        if err.status == 404:
            raise UpstreamError(404, f"job {run_id} not found in namespace {namespace}") from err
        raise
    return {"id": run_id, "namespace": namespace, "deleted": True}


async def upstream_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UpstreamError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse({"error": exc.message}, status_code=exc.status, headers=headers)


async def invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems, fields = [], []
    for error in exc.errors():
        field = ".".join(str(part) for part in error.get("loc", ()))
        fields.append(field)
        problems.append(f"{field}: {error.get('msg')}")
    return JSONResponse({"error": "invalid request: " + "; ".join(problems), "fields": fields}, status_code=422)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.upstream = Upstream(credentials.target())
    yield
    await app.state.upstream.close()


def create_app(default_namespace: str | None = None) -> FastAPI:
    app = FastAPI(
        title="orchestrator",
        version="0.1.0",
        description="Run ad hoc commands as Kubernetes Jobs and keep their output (AdhocCommands).",
        lifespan=lifespan,
    )
    app.state.default_namespace = default_namespace or os.environ.get("ORCHESTRATOR_API_NAMESPACE", "default")
    app.add_exception_handler(UpstreamError, upstream_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.include_router(routes)
    return app
