"""Typed helpers around qasync: async slots, and fire-and-forget tasks that are kept alive until done."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

import qasync

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)
_running: set[asyncio.Task[Any]] = set()


def async_slot(*types: type) -> Callable[[F], F]:
    """``qasync.asyncSlot`` with its type kept: the slot runs as a task on the Qt thread's loop."""
    return cast(Callable[[F], F], qasync.asyncSlot(*types))


def spawn(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """Run ``coro`` in the background; a reference is kept so it is not collected mid-flight."""
    task = asyncio.ensure_future(coro)
    _running.add(task)
    task.add_done_callback(_done)
    return task


def _done(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("background task failed", exc_info=task.exception())
