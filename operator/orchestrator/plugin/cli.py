"""kubectl adhoc: run a command in the cluster from a terminal, see its output live, get its exit code.

Installed with the package as the console script `kubectl-adhoc`, so `kubectl adhoc ...` works
once it is on PATH. Logs in as kubectl does (credentials.py: --kubeconfig, --context, exec plugins).
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import click
import durationpy
import yaml

from orchestrator import API_VERSION, KIND
from orchestrator.kube import credentials
from orchestrator.kube.caller import CALL_SECONDS, Upstream
from orchestrator.kube.errors import ApiError
from orchestrator.kube.follow import current_output, followed_output
from orchestrator.model import approval
from orchestrator.model.config import Config, ConfigError, from_settings
from orchestrator.model.jobs import InvalidSpec, job_for
from orchestrator.model.names import LABEL_MANAGED_BY
from orchestrator.model.objects import parse_time, timestamp
from orchestrator.model.output import output_of
from orchestrator.model.paths import is_object_name
from orchestrator.model.spec import TIMEOUT_MAX, cancel_request, current_run_finished, rerun_patch
from orchestrator.model.status import format_duration
from orchestrator.model.workloads import KINDS, pod_template_of, source_error
from orchestrator.plugin import INTERRUPTED
from orchestrator.plugin.interrupt import run_interruptible

POLL_SECONDS = 0.5
ERROR_EXIT = 1
KIND_NAMES = {alias: kind for kind in KINDS for alias in (kind.lower(), kind.lower() + "s")} | {
    "deploy": "Deployment",
    "sts": "StatefulSet",
    "ds": "DaemonSet",
    "cj": "CronJob",
}  # as kubectl's: the command's own exit code is returned when there is one


class Failure(Exception):
    """Ends the plugin with one line on stderr (never a traceback)."""


def fail(message: str) -> NoReturn:
    raise Failure(message)


def seconds(text: str) -> int:
    """A duration as kubectl writes them (Go's: 90s, 5m, 1h30m, 1.5h), or plain seconds."""
    if text.isdigit():
        value = int(text)
    else:
        try:
            value = int(durationpy.from_str(text).total_seconds())
        except durationpy.DurationError:
            fail(f"--timeout: {text!r} is not a duration such as 90s, 5m or 1h30m")
    if not 0 < value <= TIMEOUT_MAX:
        fail(f"--timeout: {text!r} must be more than 0s and at most {TIMEOUT_MAX}s")
    return value


def request_seconds(text: str | None) -> float | None:
    """--request-timeout as kubectl reads it: a Go duration or plain seconds; 0 means no limit."""
    if text is None:
        return CALL_SECONDS
    try:
        value = float(text) if text.replace(".", "", 1).isdigit() else durationpy.from_str(text).total_seconds()
    except durationpy.DurationError:
        fail(f"--request-timeout: {text!r} is not a duration such as 30s or 2m (0: no limit)")
    # durationpy keeps microseconds: 1ns would read as 0, which means no limit at all.
    if value < 0 or (value < 0.001 and any(digit in text for digit in "123456789")):
        fail(f"--request-timeout: {text!r} must be 0 (no limit) or at least 1ms")
    return value or None


def checked_name(name: str) -> str:
    if not is_object_name(name):
        fail(f"{name!r} is not a valid name: lower case letters, digits, '-' and '.', at most 253 characters")
    return name


def workload(text: str) -> dict[str, str]:
    """--from KIND/NAME, kinds as kubectl writes them: deployment/web, cronjob/nightly, deploy/web."""
    kind, _, name = text.partition("/")
    canonical = KIND_NAMES.get(kind.lower())
    if canonical is None or not name:
        fail(f"--from: {text!r} is not KIND/NAME with KIND one of deployment, statefulset, daemonset, job, cronjob")
    return {"kind": canonical, "name": checked_name(name)}


def adhoc_for(
    name: str,
    namespace: str,
    command: tuple[str, ...],
    image: str | None,
    timeout: int | None,
    overrides: dict[str, Any],
) -> dict[str, Any]:
    """The AdhocCommand `run` creates: one argument is a shell command, several an exec form."""
    spec: dict[str, Any] = {"command": command[0]} if len(command) == 1 else {"args": list(command)}
    if image:
        spec["image"] = image
    if timeout is not None:
        spec["timeoutSeconds"] = timeout
    spec.update(overrides.get("spec") or {})
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace, "labels": {LABEL_MANAGED_BY: "kubectl-adhoc"}},
        "spec": spec,
    }


class Session:
    """The cluster as the options say: a client, the namespace, and the calls the commands make."""

    def __init__(self, kubeconfig: str | None, context: str | None, namespace: str | None) -> None:
        source = credentials.Source(kubeconfig, context)
        meta = click.get_current_context().meta
        as_user = meta.get(AS)
        try:
            self.api = Upstream.logged_in(
                source, {"Impersonate-User": as_user} if as_user else None, meta.get(REQUEST_TIMEOUT, CALL_SECONDS)
            )
            self.namespace = namespace or credentials.namespace(source)
        except credentials.CredentialsError as err:
            fail(str(err))

    async def get(self, name: str) -> dict[str, Any]:
        return await self.api.get("", self.namespace, name)

    async def wait_for(self, name: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        while True:
            adhoc = await self.get(name)
            if done(adhoc):
                return adhoc
            await asyncio.sleep(POLL_SECONDS)

    async def stream_output(self, name: str, first: dict[str, Any]) -> dict[str, Any]:
        """Copies the run's output to stdout as it comes; returns the AdhocCommand once it ended.
        A run that waits for approval says so once, on stderr, and what would start it."""
        told = False

        async def again() -> dict[str, Any]:
            nonlocal told
            adhoc = await self.get(name)
            if not told and (adhoc.get("status") or {}).get("reason") == "AwaitingApproval":
                told = True
                click.echo(
                    f"{name} waits for approval: someone else who may approve runs "
                    f"`kubectl adhoc approve {name} -n {self.namespace}` (see `kubectl adhoc plan {name}`)",
                    err=True,
                )
            return adhoc

        async for chunk in followed_output(self.api, "", self.namespace, first, again):
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
        return await self.wait_for(name, current_run_finished)

    def run(self, work: Callable[[], Awaitable[int]]) -> int:
        async def guarded() -> int:
            try:
                return await work()
            except ApiError as err:
                fail(f"{err.message} (HTTP {err.status})" if err.status else err.message)
            finally:
                await self.api.close()

        try:
            return run_interruptible(guarded())
        except KeyboardInterrupt:
            self.api.transport.forget()  # if the work did not end, its connections went with its loop
            raise


def exit_code_of(adhoc: dict[str, Any]) -> int:
    """The command's exit code; a run that ended without one (deadline, image missing) is 1."""
    status = adhoc.get("status") or {}
    if "exitCode" in status:
        return int(status["exitCode"])
    if status.get("phase") != "Succeeded":
        click.echo(
            f"{adhoc['metadata']['name']}: {status.get('reason', 'Failed')}: {status.get('message', '')}", err=True
        )
        return ERROR_EXIT
    return 0


FULL_NAME = "adhoccommand.orchestrator.dev"  # as `kubectl get adhoc -o name` prints it


def output_option(*formats: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """kubectl's -o: the object as JSON or YAML, or `kind.group/name`, instead of the message."""
    return click.option(
        "-o", "--output", "output", type=click.Choice(formats), help="Print the object: " + ", ".join(formats)
    )


def show(obj: Any, output: str | None, message: str, name: str = "") -> None:
    """The message (nothing given), or the object as -o asks (4-space JSON and YAML as kubectl)."""
    if output is None:
        click.echo(message)
    elif output == "name":
        click.echo(name or f"{FULL_NAME}/{obj['metadata']['name']}")
    elif output == "json":
        click.echo(json.dumps(obj, indent=4))
    else:
        click.echo(yaml.safe_dump(obj, sort_keys=False), nl=False)


CLUSTER_OPTIONS = ("kubeconfig", "context", "namespace", "request_timeout")
AS = "orchestrator.as"  # where --as and --request-timeout wait for the Session (click's context meta)
REQUEST_TIMEOUT = "orchestrator.request-timeout"


def _with_cluster_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--request-timeout",
        "request_timeout",
        help="How long to wait for each call to the API server (1s, 2m; 0: no limit; default 30s)",
    )(f)
    f = click.option("--as", "as_user", help="Act as this user (Kubernetes impersonation, as kubectl's --as)")(f)
    f = click.option("-n", "--namespace", help="The namespace (default: the context's)")(f)
    f = click.option("--context", help="The kubeconfig context to use")(f)
    f = click.option("--kubeconfig", help="Path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")(f)
    return f


# kubectl's own options, on every command, and before it as kubectl users type them
# (`kubectl adhoc -n team-a logs NAME`): the command's own win.
def cluster_options(f: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(f)
    def merged(*args: Any, **kwargs: Any) -> Any:
        context = click.get_current_context()
        outer = context.find_root().obj or {}
        for name in CLUSTER_OPTIONS:
            kwargs[name] = kwargs.get(name) or outer.get(name)
        context.meta[AS] = kwargs.pop("as_user", None) or outer.get("as_user")
        context.meta[REQUEST_TIMEOUT] = request_seconds(kwargs.pop("request_timeout"))
        return f(*args, **kwargs)

    return _with_cluster_options(merged)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@_with_cluster_options
@click.pass_context
def main(
    ctx: click.Context,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    as_user: str | None,
    request_timeout: str | None,
) -> None:
    """Run ad hoc commands as AdhocCommands: their output kept, their exit code returned."""
    ctx.obj = {
        "kubeconfig": kubeconfig,
        "context": context,
        "namespace": namespace,
        "as_user": as_user,
        "request_timeout": request_timeout,
    }


@main.command(context_settings={"ignore_unknown_options": False})
@click.argument("name")
@click.argument("command", nargs=-1, required=True)
@click.option("--image", help="Container image (default: the operator's, or the workload's with --from)")
@click.option("--from", "source", help="Run with a workload's pod template: deployment/NAME, cronjob/NAME, ...")
@click.option("--timeout", "timeout", help="How long the command may run, e.g. 90s, 10m, 1h")
@click.option("--rm", "remove", is_flag=True, help="Delete the AdhocCommand (and its output) once it ended")
@click.option("--detach", is_flag=True, help="Start it and return at once (prints its name)")
@click.option("--overrides", help='JSON merged into the AdhocCommand, e.g. \'{"spec": {"nodeSelector": {...}}}\'')
@output_option("json", "yaml", "name")
@cluster_options
def run(
    name: str,
    command: tuple[str, ...],
    image: str | None,
    source: str | None,
    timeout: str | None,
    remove: bool,
    detach: bool,
    overrides: str | None,
    output: str | None,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
) -> None:
    """Run COMMAND as AdhocCommand NAME: `kubectl adhoc run NAME -- COMMAND...`. One argument runs
    in a shell (/bin/sh -c), several run as they are. Prints the output live; exits with the
    command's exit code."""
    checked_name(name)
    if output and not detach:
        fail("run: -o prints the AdhocCommand created, with --detach (else the output is the command's)")
    extra = parse_overrides(overrides)
    if source:
        extra = {**extra, "spec": {**(extra.get("spec") or {}), "from": workload(source)}}
    limit = seconds(timeout) if timeout else None
    session = Session(kubeconfig, context, namespace)

    async def work() -> int:
        body = adhoc_for(name, session.namespace, command, image, limit, extra)
        try:
            created = await session.api.create("", body)
        except ApiError as err:
            if err.status == 409:
                fail(
                    f"adhoccommand {name} already exists in namespace {session.namespace}: "
                    f"`kubectl adhoc rerun {name}` runs it again"
                )
            raise
        if detach:
            show(created, output, f"adhoccommand/{name} created")
            return 0
        ended = await session.stream_output(name, created)
        if remove:
            await session.api.delete("", session.namespace, name)
        return exit_code_of(ended)

    try:
        sys.exit(session.run(work))
    except KeyboardInterrupt:
        sys.exit(interrupted(session, name, remove))


def interrupted(session: Session, name: str, remove: bool) -> int:
    """Ctrl-C during `run`: the run goes on in the cluster unless the user says to cancel it
    (asked only on a terminal); with --rm a cancelled run is removed too."""
    answer = sys.stdin.isatty() and click.confirm(f"\n{name} goes on in the cluster. Cancel it?", default=False)
    if not answer:
        click.echo(
            f"{name} goes on: `kubectl adhoc logs {name} -f` follows it, `kubectl adhoc cancel {name}` stops it",
            err=True,
        )
        return INTERRUPTED

    async def stop() -> int:
        await session.api.patch("", session.namespace, name, cancel_request())
        if remove:
            await session.api.delete("", session.namespace, name)
        click.echo(f"adhoccommand/{name} {'cancelled and deleted' if remove else 'cancelled'}", err=True)
        return INTERRUPTED

    return session.run(stop)


@main.command()
@click.argument("name")
@click.option("-f", "--follow", is_flag=True, help="Stream the output while the command runs")
@click.option("--generation", type=int, help="The output of an earlier run (see `kubectl adhoc history`)")
@cluster_options
def logs(
    name: str, follow: bool, generation: int | None, kubeconfig: str | None, context: str | None, namespace: str | None
) -> None:
    """Print the output of AdhocCommand NAME: stored once it ended, live with -f."""
    checked_name(name)
    session = Session(kubeconfig, context, namespace)

    async def work() -> int:
        adhoc = await session.get(name)
        status = adhoc.get("status") or {}
        if generation is not None and generation != status.get("observedGeneration"):
            entry = next((e for e in status.get("history") or [] if e.get("generation") == generation), None)
            if entry is None or not entry.get("logsConfigMap"):
                fail(f"the output of generation {generation} of {name} is not kept (see kubectl adhoc history {name})")
            kept = await session.api.configmap("", session.namespace, entry["logsConfigMap"])
            sys.stdout.buffer.write(output_of(kept))
            return 0
        if follow:
            await session.stream_output(name, adhoc)
            return 0
        sys.stdout.buffer.write(await current_output(session.api, "", session.namespace, adhoc))
        return 0

    sys.exit(session.run(work))


@main.command()
@click.argument("name")
@click.option("--wait", is_flag=True, help="Wait for the new run, print its output, exit with its exit code")
@output_option("json", "yaml", "name")
@cluster_options
def rerun(
    name: str, wait: bool, output: str | None, kubeconfig: str | None, context: str | None, namespace: str | None
) -> None:
    """Run AdhocCommand NAME again, as it is (sets the orchestrator.dev/rerun-at annotation)."""
    checked_name(name)
    if output and wait:
        fail("rerun: -o prints the AdhocCommand changed, without --wait (with it the output is the command's)")
    session = Session(kubeconfig, context, namespace)

    async def work() -> int:
        patched = await session.api.patch("", session.namespace, name, rerun_patch(timestamp()))
        generation = patched["metadata"]["generation"]
        if not wait:
            show(patched, output, f"adhoccommand/{name} rerun (generation {generation})")
            return 0
        started = await session.wait_for(
            name, lambda a: (a.get("status") or {}).get("observedGeneration") == generation
        )
        return exit_code_of(await session.stream_output(name, started))

    sys.exit(session.run(work))


async def decide(session: Session, name: str, approve: bool, reason: str = "") -> tuple[str, dict[str, Any]]:
    """Approves or rejects the run of NAME's current generation as the caller, whom the API
    server names (the orchestrator-approval policy refuses anything else)."""
    adhoc = await session.get(name)
    me = (await session.api.whoami("")).get("username") or ""
    try:
        patch = approval.decision(adhoc, approve, me, reason)
    except approval.NotDecidable as err:
        fail(f"adhoccommand/{err}")
    try:
        patched = await session.api.patch("", session.namespace, name, patch)
    except ApiError as err:
        if err.status == 409:
            fail(f"adhoccommand/{name} changed since it was read: look at it again (kubectl adhoc plan {name})")
        raise
    generation = adhoc["metadata"].get("generation") or 1
    return f"adhoccommand/{name} generation {generation} {'approved' if approve else 'rejected'} by {me}", patched


@main.command()
@click.argument("name")
@output_option("json", "yaml", "name")
@cluster_options
def cancel(name: str, output: str | None, kubeconfig: str | None, context: str | None, namespace: str | None) -> None:
    """Stop the run of AdhocCommand NAME for good (spec.cancel): its pod is stopped, what it
    printed so far is kept, the run ends Failed (Cancelled). `kubectl adhoc logs NAME` shows the
    output, `kubectl adhoc rerun NAME` runs it again."""
    checked_name(name)
    session = Session(kubeconfig, context, namespace)

    async def work() -> int:
        adhoc = await session.get(name)
        if current_run_finished(adhoc):
            fail(f"adhoccommand/{name} has finished already ({(adhoc.get('status') or {}).get('phase')})")
        patched = await session.api.patch("", session.namespace, name, cancel_request())
        show(patched, output, f"adhoccommand/{name} cancelled")
        return 0

    sys.exit(session.run(work))


@main.command()
@click.argument("name")
@output_option("json", "yaml", "name")
@cluster_options
def approve(name: str, output: str | None, kubeconfig: str | None, context: str | None, namespace: str | None) -> None:
    """Approve the run AdhocCommand NAME waits with (spec.approval.required): its current
    generation, as you. Needs the verb approve (namespace admins have it) and that you are not
    the one who asked for the run; `kubectl adhoc plan NAME` shows what it runs."""
    checked_name(name)
    session = Session(kubeconfig, context, namespace)

    async def work() -> int:
        message, patched = await decide(session, name, approve=True)
        show(patched, output, message)
        return 0

    sys.exit(session.run(work))


@main.command()
@click.argument("name")
@click.option("--reason", default="", help="Why, for the requester (shown in the run's status)")
@output_option("json", "yaml", "name")
@cluster_options
def reject(
    name: str, reason: str, output: str | None, kubeconfig: str | None, context: str | None, namespace: str | None
) -> None:
    """Reject the run AdhocCommand NAME waits with: it ends Failed (Rejected) and runs nothing.
    The same rights as approve."""
    checked_name(name)
    session = Session(kubeconfig, context, namespace)

    async def work() -> int:
        message, patched = await decide(session, name, approve=False, reason=reason)
        show(patched, output, message)
        return 0

    sys.exit(session.run(work))


@main.command()
@click.argument("name")
@output_option("json", "yaml")
@cluster_options
def history(name: str, output: str | None, kubeconfig: str | None, context: str | None, namespace: str | None) -> None:
    """List the runs of AdhocCommand NAME, newest first: generation, phase, exit code, duration,
    who asked for each and who approved it (-o json|yaml: a list, one object a run)."""
    checked_name(name)
    session = Session(kubeconfig, context, namespace)

    async def work() -> int:
        adhoc = await session.get(name)
        status = adhoc.get("status") or {}
        current = {"generation": status.get("observedGeneration"), **status}
        runs = [run_record(run, run is current) for run in [current, *(status.get("history") or [])]]
        if output:
            show(runs, output, "")
            return 0
        rows = [tuple(HISTORY_COLUMNS)] + [
            tuple("" if run[key] is None else str(run[key]) for key in HISTORY_COLUMNS.values()) for run in runs
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            click.echo("   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        return 0

    sys.exit(session.run(work))


@main.command()
@click.argument("name", required=False)
@click.option("-f", "--filename", type=click.File("r"), help="Plan the AdhocCommand in this file instead (- for stdin)")
@click.option(
    "--operator-namespace", default="orchestrator", show_default=True, help="Where the operator's settings are"
)
@output_option("yaml", "json", "name")
@cluster_options
def plan(
    name: str | None,
    filename: Any,
    operator_namespace: str,
    output: str | None,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
) -> None:
    """Print the Job AdhocCommand NAME runs as (or the one in -f FILE), creating nothing: its
    spec.from template, the operator's defaults and the pod defaults applied, built by the
    operator's own code. What an approver reads before saying yes."""
    if (name is None) == (filename is None):
        fail("plan: give a NAME or -f FILE")
    session = Session(kubeconfig, context, namespace)

    async def work() -> int:
        if name is not None:
            adhoc = await session.get(checked_name(name))
        else:
            adhoc = planned_object(filename.read(), session.namespace)
        config = await operator_settings(session, operator_namespace)
        source = (adhoc.get("spec") or {}).get("from")
        template = None
        if source:  # read as the operator reads it, refused as the operator refuses it
            refused = source_error(source) if isinstance(source, dict) else "spec.from must be an object"
            if refused is not None:
                fail(f"{adhoc['metadata']['name']}: {refused}")
            found = await session.api.workload("", source["kind"], adhoc["metadata"]["namespace"], source["name"])
            template = pod_template_of(source["kind"], found)
        try:
            job = job_for(adhoc, config, template)
        except InvalidSpec as err:
            fail(f"{adhoc['metadata']['name']}: {err}")
        show(job, output or "yaml", "", name=f"job.batch/{job['metadata']['name']}")
        return 0

    sys.exit(session.run(work))


def planned_object(text: str, namespace: str) -> dict[str, Any]:
    """An AdhocCommand from a file, as the API server would hold it before its first run."""
    try:
        adhoc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        fail(f"-f: not YAML{where}: {getattr(err, 'problem', None) or type(err).__name__}")
    if not isinstance(adhoc, dict) or adhoc.get("kind") != KIND or not isinstance(adhoc.get("metadata"), dict):
        fail(f"-f: not an {KIND}")
    meta = adhoc["metadata"]
    checked_name(str(meta.get("name", "")))
    meta.setdefault("namespace", namespace)
    meta.setdefault("uid", "00000000-0000-0000-0000-000000000000")  # the API server assigns it
    meta.setdefault("generation", 1)
    return adhoc


async def operator_settings(session: Session, operator_namespace: str) -> Config:
    """The operator's defaults from its ConfigMap, when the caller may read it; else the built-in
    ones, said on stderr (the Job may then differ in image or pod defaults)."""
    try:
        configmap = await session.api.configmap("", operator_namespace, "orchestrator-config")
    except ApiError as err:
        click.echo(
            f"note: the operator's settings (configmap orchestrator-config in {operator_namespace}) could not be "
            f"read ({err.message or err.status}): planned with its built-in defaults",
            err=True,
        )
        return Config()
    try:
        return from_settings(configmap.get("data") or {})
    except ConfigError as err:
        fail(f"the operator's settings: {err}")


HISTORY_COLUMNS = {
    "GENERATION": "generation",
    "PHASE": "phase",
    "REASON": "reason",
    "EXIT": "exitCode",
    "DURATION": "duration",
    "STARTED": "startTime",
    "REQUESTED BY": "requestedBy",
    "APPROVED BY": "approvedBy",
    "OUTPUT": "output",
}


def run_record(run: dict[str, Any], current: bool) -> dict[str, Any]:
    """One run as history shows it: the current one from the status, earlier ones from its history."""
    logs = run.get("logs") or {}
    output = (logs.get("configMap") or logs.get("secret")) if current else run.get("logsConfigMap")
    record = {key: run.get(key) for key in HISTORY_COLUMNS.values()}
    return record | {"duration": duration_of(run) or None, "output": output}


def duration_of(run: dict[str, Any]) -> str:
    start, end = run.get("startTime"), run.get("completionTime")
    if not start or not end:
        return str(run.get("duration") or "")
    seconds = parse_time(end) - parse_time(start)
    return format_duration(seconds.total_seconds())


def parse_overrides(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as err:
        fail(f"--overrides: not JSON: {err}")
    if not isinstance(value, dict) or not isinstance(value.get("spec", {}), dict):
        fail('--overrides: must be a JSON object such as {"spec": {...}}')
    return value


def entry() -> None:
    """The console script: one clear line for what goes wrong, never a traceback."""
    try:
        main(standalone_mode=True)
    except Failure as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(ERROR_EXIT)
