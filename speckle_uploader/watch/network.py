"""Whether a folder lives on a network share (SMB, NFS ...), where change notifications rarely arrive and the
folder is rescanned often instead."""

from __future__ import annotations

import os
import sys
from pathlib import Path

NETWORK_FILESYSTEMS = {"cifs", "smb3", "smbfs", "nfs", "nfs4", "afs", "fuse.sshfs", "9p", "davfs", "fuse.davfs2",
                       "ncpfs", "ceph", "glusterfs", "fuse.rclone"}


def is_network_folder(folder: Path) -> bool:
    text = str(folder)
    if text.startswith(("\\\\", "//")):
        return True  # a UNC path: \\server\share\...
    if sys.platform == "win32":
        import ctypes

        drive = os.path.splitdrive(str(folder.resolve()))[0] + "\\"
        return bool(ctypes.windll.kernel32.GetDriveTypeW(drive) == 4)  # type: ignore[attr-defined,unused-ignore]
    return _mount_type(folder) in NETWORK_FILESYSTEMS


def _mount_type(folder: Path, mounts: Path = Path("/proc/self/mounts")) -> str:
    """The filesystem type of the deepest mount containing ``folder`` (Linux; "" elsewhere)."""
    try:
        target = str(folder.resolve())
        lines = mounts.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    best, kind = "", ""
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        if (target == point or target.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind
