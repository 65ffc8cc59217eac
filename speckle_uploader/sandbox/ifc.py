"""Just enough of an IFC (ISO 10303-21, STEP physical file) reader to tell a real file from a bad one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

KNOWN_SCHEMAS = ("IFC2X3", "IFC4", "IFC4X1", "IFC4X2", "IFC4X3", "IFC4X3_ADD1", "IFC4X3_ADD2")
_FILE_SCHEMA = re.compile(r"FILE_SCHEMA\s*\(\s*\(\s*'([^']*)'", re.IGNORECASE)
_ENTITY = re.compile(rb"^#\d+\s*=", re.MULTILINE)


@dataclass(frozen=True)
class IfcCheck:
    ok: bool
    schema: str | None = None
    entities: int = 0
    problem: str = ""  # why the file cannot be imported, in words
    not_ifc: bool = False  # the file is not STEP at all (rather than a damaged IFC)


def check_ifc(path: Path, head_bytes: int = 64 * 1024) -> IfcCheck:
    with path.open("rb") as handle:
        head = handle.read(head_bytes)
        size = handle.seek(0, 2)
        handle.seek(max(0, size - 4096))
        tail = handle.read()
    text = head.decode("latin-1").lstrip("\ufeff\r\n\t ")
    if not text.startswith("ISO-10303-21;"):
        return IfcCheck(False, problem="This is not an IFC file: it does not start with the STEP header "
                                       "'ISO-10303-21;'.", not_ifc=True)
    if "HEADER;" not in text:
        return IfcCheck(False, problem="The IFC file has no HEADER section.")
    match = _FILE_SCHEMA.search(text)
    if not match:
        return IfcCheck(False, problem="The IFC header does not name its schema (FILE_SCHEMA is missing).")
    schema = match.group(1).strip().upper()
    if schema not in KNOWN_SCHEMAS:
        return IfcCheck(False, schema=schema, problem=f"Unsupported IFC schema '{schema}' "
                                                     f"(supported: {', '.join(KNOWN_SCHEMAS)}).")
    if b"END-ISO-10303-21;" not in tail:
        return IfcCheck(False, schema=schema, problem="The IFC file is truncated: 'END-ISO-10303-21;' is missing "
                                                     "at the end.")
    entities = len(_ENTITY.findall(head))
    return IfcCheck(True, schema=schema, entities=entities)
