"""The glibc threshold tuning for upload buffers: set once where glibc is, a no-op elsewhere."""

from __future__ import annotations

import os
import sys

import pytest

from speckle_uploader.speckle import allocator


def test_tuned_once_and_only_on_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = allocator._set_thresholds

    def counted() -> bool:
        calls.append(1)
        return real()

    monkeypatch.setattr(allocator, "_tuned", None)
    monkeypatch.setattr(allocator, "_set_thresholds", counted)
    first = allocator.keep_upload_buffers()
    assert allocator.keep_upload_buffers() is first
    assert calls == [1]
    on_glibc = sys.platform == "linux" and bool(os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else "")
    assert first is on_glibc


def test_other_platforms_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator.sys, "platform", "win32")
    assert allocator._set_thresholds() is False
