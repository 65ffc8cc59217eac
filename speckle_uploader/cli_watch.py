"""``speckle-uploader watch``: watched folders without a window, for an office file server or a service.

Each export that settles becomes the next version of its model, once; one JSON line per publish with
``--json``. SIGTERM or Ctrl-C stops cleanly: uploads in progress are cancelled (the next run publishes them),
files the server already has are recorded and followed again by the next run; nothing is lost or sent twice.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path

from speckle_uploader.app_dirs import history_path
from speckle_uploader.jobs import Job, JobEvent, JobState, Workspace
from speckle_uploader.progress import LineLog, job_result
from speckle_uploader.text import clean_server_text
from speckle_uploader.watch import ModelMode, PublishRule, RuleStatus, WatchService

EXIT_OK, EXIT_TERMINATED = 0, 143


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser], default_server: str) -> None:
    watch = commands.add_parser("watch", help="publish every new export in folders as the next version")
    watch.add_argument("--server", default=default_server)
    watch.add_argument("--project", required=True, help="project id (see `speckle-uploader projects`)")
    target = watch.add_mutually_exclusive_group()
    target.add_argument("--model", help="one model for every file (found case-insensitively or created)")
    target.add_argument("--model-per-file", action="store_true", help="a model named after each file (default)")
    target.add_argument("--model-template", metavar="T",
                        help="a model named from {path} (the subfolder), {folder} and {stem}, e.g. {path}/{stem}")
    watch.add_argument("--message", default="{file}, saved {modified}", metavar="T",
                       help="version message: free text with {file}, {modified}, {host}, {user}, {folder}, {stem}")
    watch.add_argument("--settle", type=float, default=10.0, metavar="SECONDS",
                       help="publish a file once it has not changed for this long (default 10)")
    watch.add_argument("--pattern", action="append", default=[], metavar="GLOB",
                       help="only files matching this (repeatable; default: the types the server imports)")
    watch.add_argument("--no-subfolders", action="store_true", help="only the folder itself, not its subfolders")
    watch.add_argument("--json", action="store_true", help="one JSON object per publish on stdout")
    watch.add_argument("folders", nargs="+", type=Path, metavar="FOLDER")


def rules_from(args: argparse.Namespace, server_url: str) -> list[PublishRule]:
    if args.model:
        mode, name = ModelMode.FIXED, args.model
    elif args.model_template:
        mode, name = ModelMode.TEMPLATE, args.model_template
    else:
        mode, name = ModelMode.PER_FILE, ""
    return [PublishRule(folder.resolve(), server_url, args.project, model_mode=mode, model_name=name,
                        message_template=args.message, subfolders=not args.no_subfolders,
                        patterns=list(args.pattern), settle_seconds=args.settle)
            for folder in args.folders]


async def run(args: argparse.Namespace, server_url: str, token: str) -> int:
    rules = rules_from(args, server_url)  # ValueError: a sentence for the user
    for rule in rules:
        if not rule.folder.is_dir():
            raise ValueError(f"{rule.folder} is not a folder.")
    workspace = await Workspace.open(server_url, token, history=history_path())
    async with workspace:
        project = await workspace.session.client.project(args.project)
        if not project.can_publish.authorized:
            raise PermissionError(f"You cannot publish to “{project.name}”: {project.can_publish.message}")
        service = WatchService(workspace, persist=False)
        _report(workspace, service, args.json, server_url)
        stop = asyncio.Event()
        received: list[int] = []

        def stop_on(signum: int) -> None:
            received.append(signum)
            stop.set()

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
                loop.add_signal_handler(signum, stop_on, signum)
        await service.start(rules)
        print(f"Watching {len(rules)} folder{'s' if len(rules) != 1 else ''} for “{project.name}” "
              "(Ctrl-C stops).", file=sys.stderr, flush=True)
        await stop.wait()
        print("speckle-uploader: stopping; uploads in progress are cancelled and published by the next run",
              file=sys.stderr, flush=True)
        await service.stop()
        for job in workspace.queue.jobs:
            if not job.state.on_server:
                workspace.queue.cancel(job.id)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):  # cancelled uploads end at once; the server keeps what it has
                await workspace.queue.wait_for({j.id for j in workspace.queue.jobs if not j.state.on_server})
    return EXIT_TERMINATED if received and received[0] == signal.SIGTERM else EXIT_OK


def _report(workspace: Workspace, service: WatchService, as_json: bool, server_url: str) -> None:
    if as_json:
        def line(event: JobEvent, job: Job) -> None:
            # Publishes only: a job of an earlier run found interrupted in the history is not one.
            if (event is JobEvent.STATE and job.state.is_final and job.rule_id is not None
                    and job.state is not JobState.INTERRUPTED):
                print(json.dumps(job_result(job, server_url), ensure_ascii=False), flush=True)

        workspace.queue.subscribe(line)
        return
    workspace.queue.subscribe(LineLog())
    said: dict[int, tuple[str, str]] = {}

    def note(status: RuleStatus) -> None:
        key = (status.state.value + " " + status.reason, status.last_note)
        if status.rule.id is not None and said.get(status.rule.id) != key:
            said[status.rule.id] = key
            text = status.reason or status.last_note
            if text:
                print(clean_server_text(f"{status.rule.folder.name}: {text}"), file=sys.stderr, flush=True)

    service.subscribe(note)
