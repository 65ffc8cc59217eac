"""The command line: ``speckle-uploader upload|login|logout|projects|sandbox`` on the same engine as the app."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from speckle_uploader import __version__, cli_watch
from speckle_uploader.app_dirs import history_path
from speckle_uploader.credentials import CredentialStore
from speckle_uploader.jobs import EngineSettings, Job, JobState, PollPolicy, Workspace
from speckle_uploader.jobs.bandwidth import parse_rate
from speckle_uploader.jobs.history import JobHistory
from speckle_uploader.logs import setup_logging
from speckle_uploader.progress import JsonLines, LineLog, LiveDisplay, job_result
from speckle_uploader.speckle import (
    CLOUD_URL,
    Session,
    SpeckleError,
    normalise_server_url,
    parse_server_address,
    sign_in,
)
from speckle_uploader.text import clean_server_text, clean_token

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
TOKEN_ENV = "SPECKLE_TOKEN"
DEFAULT_SERVER = CLOUD_URL


class CliError(Exception):
    """A one-line message for the user, and the exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="speckle-uploader",
        description="Upload IFC and other CAD/BIM files to Speckle and follow them until they are model versions. "
                    "Without a command, opens the desktop app (--demo: on the built-in sandbox).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    upload = commands.add_parser("upload", help="upload files and wait until each is a model version")
    upload.add_argument("--server", default=DEFAULT_SERVER, help=f"server URL (default {DEFAULT_SERVER}); a project "
                                                                 "URL copied from the browser names the project too")
    upload.add_argument("--project", help="project id (see `speckle-uploader projects`)")
    upload.add_argument("--model", help="model name: found case-insensitively or created "
                                        "(default: named after each file)")
    upload.add_argument("--message", help="the message set on each new version (what changed, for whom)")
    upload.add_argument("--json", action="store_true", help="one JSON object per file on stdout")
    upload.add_argument("--concurrency", type=int, default=2, help="files uploaded at once (default 2)")
    upload.add_argument("--give-up-after", type=float, default=60, metavar="MINUTES",
                        help="stop waiting for a server that has not finished processing a file after this long "
                             "(default 60; the job then ends 'timeout' and a retry looks again)")
    upload.add_argument("--any-type", action="store_true",
                        help="skip the check of file types this server is known to import")
    upload.add_argument("--limit-rate", metavar="SPEED", help="upload at most this fast, all files together "
                                                               "(e.g. 500K, 2M: bytes per second)")
    upload.add_argument("files", nargs="+", type=Path, metavar="FILE")

    login = commands.add_parser("login", help="check a personal access token and keep it in the keychain")
    login.add_argument("--server", default=DEFAULT_SERVER)
    login.add_argument("--token-stdin", action="store_true", help="read the token from standard input")

    logout = commands.add_parser("logout", help="forget the stored token of a server")
    logout.add_argument("--server", default=DEFAULT_SERVER)

    projects = commands.add_parser("projects", help="list the projects you can see, with their ids")
    projects.add_argument("--server", default=DEFAULT_SERVER)
    projects.add_argument("--search", help="only projects whose name contains this")

    cli_watch.add_parser(commands, DEFAULT_SERVER)

    history = commands.add_parser("history", help="list recent uploads (the window's and the command line's)")
    history.add_argument("--server", help="only this server's uploads")
    history.add_argument("--limit", type=int, default=20, help="how many, newest last (default 20)")
    history.add_argument("--json", action="store_true", help="one JSON object per upload on stdout")

    sandbox = commands.add_parser("sandbox", help="run the local Speckle-compatible sandbox server")
    sandbox.add_argument("--flavor", choices=["cloud", "fileimport", "legacy"], default="cloud",
                         help="which kind of Speckle server to behave as (default cloud)")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=3000)
    sandbox.add_argument("--blob-limit-mb", type=int, default=100, help="upload size limit (default 100)")
    sandbox.add_argument("--processing-seconds", type=float, default=2.5, help="simulated import time")
    sandbox.add_argument("--data-dir", type=Path, help="where uploaded blobs go (default: a temporary folder)")
    sandbox.add_argument("--blob-mbps", type=float, help="limit each upload's speed, in megabits per second "
                                                         "(default: as fast as this machine goes)")
    sandbox.add_argument("--blob", choices=["s3", "azure"], default="s3",
                         help="where upload links point: the sandbox's own S3-like store (default), or Azure Blob "
                              "Storage (Azurite, installed from npm on first use)")
    return parser


COMMANDS = ("upload", "watch", "login", "logout", "projects", "history", "sandbox")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["--selftest"]:
        from speckle_uploader.selftest import main as selftest

        return selftest()
    # No command: the desktop app (with --demo, or files to add, as a file association passes them).
    if not arguments or (arguments[0] not in COMMANDS and arguments[0] not in ("-h", "--help", "--version")):
        return gui_main(arguments)
    args = build_parser().parse_args(arguments)
    if args.command != "sandbox":
        setup_logging()
    try:
        if args.command == "sandbox":
            return run_sandbox(args)
        if args.command == "history":
            return show_history(args)
        runners = {"upload": upload, "watch": watch, "login": login, "logout": logout, "projects": list_projects}
        return asyncio.run(runners[args.command](args))
    except CliError as exc:
        print(f"speckle-uploader: {clean_server_text(exc)}", file=sys.stderr)
        return exc.code
    except SpeckleError as exc:
        print(f"speckle-uploader: {clean_server_text(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("speckle-uploader: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def gui_main(argv: Sequence[str] | None = None) -> int:
    """The desktop window; ``speckle-uploader-gui`` and ``speckle-uploader`` without a command."""
    from speckle_uploader.desktop_libs import problem

    missing = problem()  # before Qt loads: its own message for a missing X11 library is cryptic
    if missing:
        print(missing, file=sys.stderr)
        return EXIT_USAGE
    from speckle_uploader.ui.app import run_app  # Qt loads only when the window is wanted

    return run_app(list(sys.argv[1:] if argv is None else argv))


def _server(value: str) -> str:
    try:
        return normalise_server_url(value)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _token(raw: str, where: str) -> str:
    try:
        return clean_token(raw)
    except ValueError as exc:
        raise CliError(f"{where}: {exc}") from None


def find_token(server_url: str, store: CredentialStore | None = None) -> str:
    token = _token(os.environ.get(TOKEN_ENV, ""), TOKEN_ENV)
    if token:
        return token
    token = _token((store or CredentialStore()).get(server_url) or "", "The stored token")
    if not token:
        raise CliError(f"No token for {server_url}: set {TOKEN_ENV}, or run "
                       f"`speckle-uploader login --server {server_url}` once.")
    return token


async def _session(server_url: str) -> Session:
    return await sign_in(server_url, find_token(server_url))


async def upload(args: argparse.Namespace) -> int:
    server_url = _server(args.server)
    with contextlib.suppress(ValueError):  # _server() above has said what is wrong with it
        args.project = args.project or parse_server_address(args.server).project_id
    if not args.project:
        raise CliError("--project is needed (or a project URL as --server)")
    if args.concurrency < 1:
        raise CliError("--concurrency must be at least 1")
    if args.give_up_after <= 0:
        raise CliError("--give-up-after must be more than 0 minutes")
    try:
        limit_rate = parse_rate(args.limit_rate) if args.limit_rate else None
    except ValueError as exc:
        raise CliError(f"--limit-rate: {exc}") from None
    settings = EngineSettings(concurrency=args.concurrency, check_type=not args.any_type,
                              poll=PollPolicy(processing_limit=args.give_up_after * 60), limit_rate=limit_rate)
    # Recorded in the same history as the window's uploads; another process's jobs are left alone.
    workspace = await Workspace.open(server_url, find_token(server_url), settings=settings,
                                     history=history_path(), restore=False)
    async with workspace:
        if workspace.history_problem:
            print(f"speckle-uploader: {workspace.history_problem}", file=sys.stderr)
        if workspace.history is not None:
            workspace.history.problem_listeners.append(
                lambda problem: print(f"speckle-uploader: {problem}", file=sys.stderr))
        project = await workspace.session.client.project(args.project)
        if not project.can_publish.authorized:
            raise CliError(f"You cannot upload to “{project.name}”: {project.can_publish.message}")
        if workspace.history is not None:
            workspace.history.project_names[project.id] = project.name
        queue = workspace.queue
        display: LiveDisplay | LineLog | None = None
        if args.json:
            queue.subscribe(JsonLines(server_url))
        else:
            display = LiveDisplay() if sys.stderr.isatty() else LineLog()
            queue.subscribe(display)

        def say(text: str) -> None:
            # Through the live display where there is one: a line printed under it would be drawn over.
            if display is not None:
                display.say(text)
            else:
                print(text, file=sys.stderr, flush=True)

        for path in args.files:
            queue.add(path, project.id, args.model, version_message=args.message)
        loop = asyncio.get_running_loop()
        interrupted: list[int] = []
        stopping: list[asyncio.Task[None]] = []

        def interrupt(signum: int) -> None:
            # First Ctrl-C (or SIGTERM from a service manager): cancel every job (the cloud is asked to stop
            # processing too). A second one stops following at once: the server carries on with what it has.
            interrupted.append(signum)
            if len(interrupted) == 1:
                say("speckle-uploader: cancelling (Ctrl-C again to stop waiting)")
                for job in queue.jobs:
                    queue.cancel(job.id)
            elif not stopping:
                stopping.append(loop.create_task(queue.aclose()))

        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):  # none on Windows
                loop.add_signal_handler(signum, interrupt, signum)
        jobs = await queue.wait()
        if not args.json:
            _summary(jobs, server_url)
        if interrupted:
            return EXIT_TERMINATED if interrupted[0] == signal.SIGTERM else EXIT_INTERRUPTED
        return EXIT_OK if all(job.state is JobState.SUCCESS for job in jobs) else EXIT_FAILED


async def watch(args: argparse.Namespace) -> int:
    server_url = _server(args.server)
    try:
        return await cli_watch.run(args, server_url, find_token(server_url))
    except (ValueError, PermissionError) as exc:
        raise CliError(str(exc)) from None


def _summary(jobs: list[Job], server_url: str) -> None:
    done = [j for j in jobs if j.state is JobState.SUCCESS]
    print(f"{len(done)} of {len(jobs)} files became model versions.", file=sys.stderr)
    for job in jobs:
        if job.state is JobState.SUCCESS:
            print(f"  ✓ {clean_server_text(job.file_name)} → {job.version_url(server_url)}", file=sys.stderr)
        else:
            print(f"  ✗ {clean_server_text(job.file_name)}: {clean_server_text(job.message)}", file=sys.stderr)


async def login(args: argparse.Namespace) -> int:
    server_url = _server(args.server)
    if args.token_stdin:
        token = _token(sys.stdin.readline(), "The token")
    else:
        token = _token(getpass.getpass(f"Personal access token for {server_url} (input hidden): "), "The token")
    if not token:
        raise CliError("No token given.")
    session = await sign_in(server_url, token)
    await session.aclose()
    result = CredentialStore().save(server_url, token)
    if not result.stored:
        raise CliError(result.reason + f" Use the {TOKEN_ENV} environment variable instead.")
    print(f"Signed in to {clean_server_text(session.server.name)} as {clean_server_text(session.user.name)}; "
          "the token is in the keychain.",
          file=sys.stderr)
    return EXIT_OK


async def logout(args: argparse.Namespace) -> int:
    server_url = _server(args.server)
    CredentialStore().delete(server_url)
    print(f"Forgot the token for {server_url}.", file=sys.stderr)
    return EXIT_OK


async def list_projects(args: argparse.Namespace) -> int:
    session = await _session(_server(args.server))
    try:
        async for project in session.client.all_projects(search=args.search):  # ends, whatever the server says
            note = "" if project.can_publish.authorized else f"  (read-only: {project.can_publish.message})"
            print(clean_server_text(f"{project.id}  {project.name}{note}"))
        return EXIT_OK
    finally:
        await session.aclose()


def show_history(args: argparse.Namespace) -> int:
    """Recent uploads from the history the window and the command line share."""
    opened = JobHistory.open(history_path())
    if opened.history is None:
        raise CliError(opened.problem)
    if opened.problem:
        print(f"speckle-uploader: {opened.problem}", file=sys.stderr)
    history = opened.history
    try:
        server = _server(args.server) if args.server else None
        for job_server, job in history.recent(server, limit=max(1, args.limit)):
            if args.json:
                print(json.dumps({**job_result(job, job_server), "server": job_server,
                                  "finished_at": job.finished_at, "created_at": job.created_at},
                                 ensure_ascii=False))
                continue
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(job.finished_at or job.created_at))
            where = job.version_url(job_server) or job.message
            print(clean_server_text(f"{when}  {job.state.value:<12} {job.file_name} → {job.model_name}: {where}"))
    finally:
        history.close()
    return EXIT_OK


def run_sandbox(args: argparse.Namespace) -> int:
    from speckle_uploader.sandbox import DEMO_TOKEN, Flavor, SandboxConfig, SandboxServer

    if not 0 < args.blob_limit_mb < 2048:  # serverInfo's blobSizeLimitBytes is a GraphQL Int (32-bit), as upstream
        raise CliError("--blob-limit-mb must be between 1 and 2047 (the schema's Int cannot hold 2 GiB)")
    config = SandboxConfig(flavor=Flavor(args.flavor), blob_size_limit_bytes=args.blob_limit_mb * 1024 * 1024,
                           processing_seconds=args.processing_seconds,
                           blob_bytes_per_second=args.blob_mbps * 125_000 if args.blob_mbps else None)

    azurite = None
    if args.blob == "azure":
        from speckle_uploader.sandbox.azurite import AzuriteUnavailableError, start_for_sandbox

        try:
            azurite = start_for_sandbox(config)
        except AzuriteUnavailableError as exc:
            raise CliError(f"--blob azure needs Azurite: {exc}") from None

    async def serve() -> None:
        async with SandboxServer(config, host=args.host, port=args.port, data_dir=args.data_dir) as server:
            print(f"Speckle sandbox ({args.flavor}) at {server.url}\n"
                  f"  token: {DEMO_TOKEN}\n"
                  f"  try:   SPECKLE_TOKEN={DEMO_TOKEN} speckle-uploader projects --server {server.url}\n"
                  + (f"  blobs: Azure (Azurite) at {azurite.endpoint}\n" if azurite else "")
                  + "Ctrl-C stops it.", file=sys.stderr, flush=True)
            stop = asyncio.Event()
            with contextlib.suppress(NotImplementedError):  # SIGTERM stops it too (and Azurite with it)
                asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
            await stop.wait()

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve())
    finally:
        if azurite is not None:
            azurite.stop()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
