"""How sizes, durations and speeds read, in the window and on the terminal alike."""

from __future__ import annotations


def human_size(size: float) -> str:
    """Sizes in 1024-based units named KB/MB/GB, as Windows Explorer shows them and as Speckle sets its
    limit (``FILE_SIZE_LIMIT_MB=100`` is 100 x 1024 x 1024 bytes, shown as "100 MB")."""
    for unit in ("bytes", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}".replace(".0 ", " ")
        size /= 1024
    return f"{size:.1f} GB".replace(".0 ", " ")


def format_duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
