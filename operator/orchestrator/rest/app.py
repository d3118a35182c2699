"""The REST API: FastAPI routes over AdhocCommands, acting as the caller.

The paths keep the original API's word "job" (/jobs/{id}); in this code a "run" is one
AdhocCommand, and a batch Job is never meant.

Run: uvicorn --factory orchestrator.rest.app:create_app --host 127.0.0.1 --port 8080
"""

import dataclasses
import functools
import json
import os
import pathlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import orjson
import prometheus_client
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException

from orchestrator import tune_gc
from orchestrator.kube import credentials
from orchestrator.kube.caller import MAX_STREAMS, StreamSlot, Upstream
from orchestrator.kube.errors import ApiError
from orchestrator.kube.follow import current_output, followed_output
from orchestrator.model import approval
from orchestrator.model.objects import timestamp
from orchestrator.model.paths import DNS_LABEL, DNS_SUBDOMAIN, UnsafeName
from orchestrator.model.spec import cancel_request, current_run_finished, rerun_patch
from orchestrator.rest.limits import Limits
from orchestrator.rest.models import Decision, Error, NewRun, RunSummary, adhoc_from, summary_of, with_id

bearer = HTTPBearer(auto_error=False, description="A Kubernetes bearer token; the API acts as its owner")
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Error, "description": "No bearer token, or one the cluster does not accept"},
    403: {"model": Error, "description": "The token's owner may not do this (Kubernetes RBAC)"},
    422: {"model": Error, "description": "The request is invalid; `fields` names what is wrong"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Error, "description": "No such job"}}
# The AdhocCommand as the cluster stores it, its schema taken from the CRD (make crd writes the
# file): the answers are the API server's own objects, passed on without a model of our own.
ADHOC_SCHEMA = "#/components/schemas/AdhocCommand"
STATUS_SCHEMA = "#/components/schemas/AdhocCommandStatus"


def adhoc_answer(code: int = 200, schema: str = ADHOC_SCHEMA) -> dict[int | str, dict[str, Any]]:
    what = "The run's status" if schema == STATUS_SCHEMA else "The AdhocCommand, and its name as `id`"
    return {code: {"description": what, "content": {"application/json": {"schema": {"$ref": schema}}}}}


RunId = Annotated[str, Path(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN, description="The job's id")]


@dataclasses.dataclass(frozen=True, slots=True)
class Caller:
    """Who calls, where, and the client that acts as them: one dependency per request (FastAPI
    spends more on each dependency it resolves than on the route's own work)."""

    api: Upstream
    token: str
    namespace: str


# Async though it does no I/O: FastAPI runs a plain `def` dependency in a worker thread (at most
# 40 at once), and under load every request queued for those threads.
async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    namespace: Annotated[
        str | None,
        Query(min_length=1, max_length=63, pattern=DNS_LABEL, description="Namespace (default: the service's)"),
    ] = None,
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise ApiError(401, "a Kubernetes bearer token is required (Authorization: Bearer <token>)")
    state = request.app.state
    return Caller(state.upstream, credentials.credentials, namespace or state.default_namespace)


# A module-level alias: FastAPI reads a route's annotations from the module's namespace.
As = Annotated[Caller, Depends(caller)]

routes = APIRouter()
# Proxies (nginx ingress) buffer responses by default: a followed log must pass at once.
NO_BUFFERING = {"X-Accel-Buffering": "no", "Cache-Control": "no-cache"}


async def fetch(who: Caller, run_id: str) -> dict[str, Any]:
    """The AdhocCommand of a run, or 404 naming it."""
    try:
        return await who.api.get(who.token, who.namespace, run_id)
    except ApiError as err:
        if err.status == 404:
            raise ApiError(404, f"job {run_id} not found in namespace {who.namespace}") from err
        raise


@routes.get("/", summary="Health")
async def health() -> dict[str, str]:
    """Alive (the pod's liveness probe): answers whatever the Kubernetes API does."""
    return {"status": "alive"}


@routes.get("/readyz", summary="Ready", responses={503: {"description": "The Kubernetes API cannot be reached"}})
async def ready(request: Request) -> JSONResponse:
    """Ready to serve (the pod's readiness probe): the Kubernetes API answers."""
    problem = await request.app.state.upstream.reachable()
    if problem:
        return JSONResponse({"status": "unready", "error": problem}, status_code=503)
    return JSONResponse({"status": "ready"})


@routes.get("/whoami", responses=ERRORS, summary="Who the token is")
async def whoami(who: As) -> dict[str, Any]:
    """The token's user as the cluster authenticates it (username, groups): what the web page
    shows before it uses a token from a link, and beside Log out; `mayApprove`: whether they
    hold the verb approve in the namespace (the page offers Approve and Reject then)."""
    info = await who.api.whoami(who.token)
    may = await who.api.may(who.token, "approve", who.namespace)
    return {"username": info.get("username", ""), "groups": info.get("groups") or [], "mayApprove": may}


def json_body(value: Any, status_code: int = 200) -> Response:
    """A JSON answer serialised once, by orjson: what the API server sent is plain JSON already,
    and FastAPI's validation and encoding of it again cost more than the call itself."""
    return Response(orjson.dumps(value), status_code=status_code, media_type="application/json")


@routes.post("/jobs", status_code=201, responses=ERRORS | adhoc_answer(201), summary="Run a command")
async def create_run(run: NewRun, who: As) -> Response:
    # The namespace: the body's, else ?namespace=, else the service's default.
    return json_body(with_id(await who.api.create(who.token, adhoc_from(run, run.namespace or who.namespace))), 201)


NEXT_PAGE = {
    "Link": {
        "description": 'The next page, as `<URL>; rel="next"` (RFC 8288); absent on the last',
        "schema": {"type": "string"},
    }
}


@routes.get(
    "/jobs", response_model=list[RunSummary], responses=ERRORS | {200: {"headers": NEXT_PAGE}}, summary="List runs"
)
async def list_runs(
    request: Request,
    who: As,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    continue_: Annotated[str | None, Query(alias="continue", max_length=4096)] = None,
) -> Response:
    """The runs of a namespace, as a JSON array (as the original API answered); a page at a time,
    the next page's URL in the Link header."""
    page = await who.api.list(who.token, who.namespace, limit, continue_)
    answer = json_body([summary_of(item) for item in page.get("items") or []])
    token = (page.get("metadata") or {}).get("continue")
    if token:
        following = request.url.include_query_params(limit=limit, namespace=who.namespace, **{"continue": token})
        answer.headers["Link"] = f'<{following}>; rel="next"'
    return answer


@routes.get("/jobs/{run_id}", responses=ERRORS | NOT_FOUND | adhoc_answer(), summary="A run's AdhocCommand")
async def get_run(run_id: RunId, who: As) -> Response:
    return json_body(with_id(await fetch(who, run_id)))


@routes.get(
    "/jobs/{run_id}/status",
    responses=ERRORS | NOT_FOUND | adhoc_answer(schema=STATUS_SCHEMA),
    summary="A run's status",
)
async def get_status(run_id: RunId, who: As) -> Response:
    return json_body((await fetch(who, run_id)).get("status") or {})


@routes.get(
    "/jobs/{run_id}/logs",
    responses=ERRORS | NOT_FOUND | {200: {"content": {"text/plain": {}}}},
    response_class=Response,
    summary="A run's output",
)
async def get_logs(
    run_id: RunId,
    who: As,
    follow: Annotated[bool, Query(description="Stream the output while the command runs; end when it ends")] = False,
) -> Response:
    adhoc = await fetch(who, run_id)
    api, token, namespace = who.api, who.token, who.namespace
    if follow:
        slot = api.stream_slot()  # 429 when this replica follows its most already
        again = functools.partial(fetch, who, run_id)
        chunks = released(followed_output(api, token, namespace, adhoc, again), slot)
        return StreamingResponse(
            chunks,
            media_type="text/plain; charset=utf-8",
            headers=NO_BUFFERING,
            background=BackgroundTask(slot.release),
        )
    data = await current_output(api, token, namespace, adhoc)
    return Response(content=data, media_type="text/plain; charset=utf-8")


async def released(chunks: AsyncIterator[bytes], slot: StreamSlot) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        slot.release()


@routes.delete("/jobs/{run_id}", responses=ERRORS | NOT_FOUND, summary="Delete a run, its Job and its output")
async def delete_run(run_id: RunId, who: As) -> dict[str, Any]:
    try:
        await who.api.delete(who.token, who.namespace, run_id)
    except ApiError as err:
        if err.status == 404:
            raise ApiError(404, f"job {run_id} not found in namespace {who.namespace}") from err
        raise
    return {"id": run_id, "namespace": who.namespace, "deleted": True}


DECIDED: dict[int | str, dict[str, Any]] = {
    409: {"model": Error, "description": "It needs no approval, was decided already, or changed meanwhile"}
}


async def decide(who: Caller, run_id: str, approve: bool, reason: str = "") -> Response:
    adhoc = await fetch(who, run_id)
    me = (await who.api.whoami(who.token)).get("username") or ""
    try:
        patch = approval.decision(adhoc, approve, me, reason)
    except approval.NotDecidable as err:
        raise ApiError(409, f"job {err}") from None
    try:
        return json_body(with_id(await who.api.patch(who.token, who.namespace, run_id, patch)))
    except ApiError as err:
        if err.status == 409:
            raise ApiError(409, f"job {run_id} changed since it was read: look at it again") from err
        raise  # 403: the approval policy's word (not an approver, the requester, ...)


@routes.post(
    "/jobs/{run_id}/cancel",
    responses=adhoc_answer() | ERRORS | NOT_FOUND | {409: {"model": Error, "description": "It has finished already"}},
    summary="Cancel a run, keeping what it printed",
)
async def cancel_run(run_id: RunId, who: As) -> Response:
    """Stops the run for good (spec.cancel): its pod is stopped, the output so far is kept, the
    run ends Failed (Cancelled). Nothing is deleted: the run and its output stay to be read."""
    adhoc = await fetch(who, run_id)
    if current_run_finished(adhoc):
        raise ApiError(409, f"job {run_id} has finished already ({adhoc['status']['phase']})")
    return json_body(with_id(await who.api.patch(who.token, who.namespace, run_id, cancel_request())))


@routes.post(
    "/jobs/{run_id}/rerun",
    responses=adhoc_answer()
    | ERRORS
    | NOT_FOUND
    | {409: {"model": Error, "description": "Its current run has not finished"}},
    summary="Run a finished run again, as it is",
)
async def rerun_run(run_id: RunId, who: As) -> Response:
    """Starts a new run of the same AdhocCommand, with all it says (`from`, env, volumes, its
    ServiceAccount, exec-form args): the `orchestrator.dev/rerun-at` pod annotation, as
    `kubectl adhoc rerun` sets it. Refused while the current run is under way (a spec change
    then would replace it): cancel it, or wait for it to end. Where runs need approval, the
    new run needs a new one."""
    adhoc = await fetch(who, run_id)
    if not current_run_finished(adhoc):
        phase = (adhoc.get("status") or {}).get("phase") or "Pending"
        raise ApiError(409, f"job {run_id} has not finished ({phase}): cancel it or wait for it to end")
    try:
        patched = await who.api.patch(who.token, who.namespace, run_id, rerun_patch(timestamp()))
    except ApiError as err:
        if err.status == 404:
            raise ApiError(404, f"job {run_id} not found in namespace {who.namespace}") from err
        raise
    return json_body(with_id(patched))


@routes.post(
    "/jobs/{run_id}/approve",
    responses=adhoc_answer() | ERRORS | NOT_FOUND | DECIDED,
    summary="Approve a run that waits for approval",
)
async def approve_run(run_id: RunId, who: As) -> Response:
    """Approves the run's current generation as the token's user: they need the verb approve
    and must not be the one who asked for it (checked by the cluster at admission)."""
    return await decide(who, run_id, approve=True)


@routes.post(
    "/jobs/{run_id}/reject",
    responses=adhoc_answer() | ERRORS | NOT_FOUND | DECIDED,
    summary="Reject a run that waits for approval",
)
async def reject_run(run_id: RunId, who: As, decision: Decision | None = None) -> Response:
    """Rejects the run's current generation: it ends Failed (Rejected) and runs nothing."""
    return await decide(who, run_id, approve=False, reason=decision.reason if decision else "")


async def upstream_error(request: Request, exc: Exception) -> JSONResponse:
    """The Kubernetes API's answer passed on (its status and message); 502 when none came."""
    assert isinstance(exc, ApiError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse({"error": exc.message}, status_code=exc.status or 502, headers=headers)


async def invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems, fields = [], []
    for error in exc.errors():
        field = ".".join(str(part) for part in error.get("loc", ()))
        fields.append(field)
        problems.append(f"{field}: {error.get('msg')}")
    return JSONResponse({"error": "invalid request: " + "; ".join(problems), "fields": fields}, status_code=422)


async def unsafe_name(request: Request, exc: Exception) -> JSONResponse:
    """A name from a run's status that cannot be a path segment: refused, never joined."""
    return JSONResponse({"error": f"invalid name: {exc}"}, status_code=422)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)


def max_streams() -> int:
    raw = os.environ.get("ORCHESTRATOR_API_MAX_STREAMS", str(MAX_STREAMS))
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"ORCHESTRATOR_API_MAX_STREAMS must be a whole number >= 1, not {raw!r}")
    return int(raw)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.upstream = Upstream.for_callers(credentials.target(), max_streams=max_streams())
    server = serve_metrics(app.state.metrics)
    tune_gc()
    yield
    await app.state.upstream.close()
    if server is not None:
        server.shutdown()


def serve_metrics(registry: CollectorRegistry) -> Any:
    """The request metrics on their own port (ORCHESTRATOR_API_METRICS_PORT; unset: none), not
    on the API's: where the API is exposed to users, its metrics need not be."""
    raw = os.environ.get("ORCHESTRATOR_API_METRICS_PORT", "")
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SystemExit(f"ORCHESTRATOR_API_METRICS_PORT must be a port number, not {raw!r}")
    server, _ = prometheus_client.start_http_server(int(raw), registry=registry)
    return server


def instrumented(app: FastAPI) -> CollectorRegistry:
    """Request counts, durations and sizes by route (prometheus-fastapi-instrumentator), named
    orchestrator_api_*: not the probes, the page's files, or how long a followed log streamed.
    A registry of the app's own: tests make many apps in one process."""
    registry = CollectorRegistry()
    Instrumentator(
        should_group_status_codes=False,
        should_ignore_untemplated=True,
        should_exclude_streaming_duration=True,
        excluded_handlers=["^/$", "^/readyz$", "^/ui"],
        registry=registry,
    ).instrument(app, metric_namespace="orchestrator", metric_subsystem="api")
    return registry


def create_app(default_namespace: str | None = None) -> FastAPI:
    docs = os.environ.get("ORCHESTRATOR_API_DOCS", "").lower() in ("1", "true", "yes")
    app = FastAPI(
        title="orchestrator",
        version="0.1.0",
        description="Run ad hoc commands as Kubernetes Jobs and keep their output (AdhocCommands).",
        lifespan=lifespan,
        # Swagger UI and ReDoc load their scripts from a CDN onto this origin, where tokens are
        # typed in: off unless asked for (ORCHESTRATOR_API_DOCS=true, e.g. on a laptop).
        # /openapi.json is always served.
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        # FastAPI's OpenTelemetry hooks: nothing here configures a provider, and asking whether
        # one is there cost a few percent of every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.default_namespace = default_namespace or os.environ.get("ORCHESTRATOR_API_NAMESPACE", "default")
    app.add_exception_handler(ApiError, upstream_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(UnsafeName, unsafe_name)
    app.include_router(routes)
    app.add_middleware(Limits)
    app.state.metrics = instrumented(app)  # outermost: what Limits refuses is counted too
    app.mount("/ui", UI(directory=UI_DIR, html=True), name="ui")
    app.openapi = functools.partial(described, app, app.openapi)  # type: ignore[method-assign]
    return app


def described(app: FastAPI, generate: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """FastAPI's OpenAPI description, plus the AdhocCommand's schema from the CRD (read once)."""
    if app.openapi_schema:
        return app.openapi_schema
    spec = generate()
    adhoc = json.loads(SCHEMA_FILE.read_text())
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["AdhocCommandStatus"] = adhoc["properties"]["status"]
    answer = {**adhoc, "properties": {"id": {"type": "string", "description": "Its name"}, **adhoc["properties"]}}
    schemas["AdhocCommand"] = answer
    app.openapi_schema = spec
    return spec


UI_DIR = pathlib.Path(__file__).parent / "ui"
SCHEMA_FILE = pathlib.Path(__file__).parent / "adhoccommand.schema.json"
# The page runs only its own script and talks only to this server; no framing (clickjacking).
UI_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class UI(StaticFiles):
    """GET /ui/: the web page (plain HTML, CSS and JS shipped in the package; no build step)."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(UI_HEADERS)
        return response
