"""Rules and what each published, kept in the history file (so both migrate with it), or in memory for a run
when the history is unavailable."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from dataclasses import dataclass

from speckle_uploader.jobs.history import JobHistory
from speckle_uploader.watch.rules import PublishRule

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Published:
    """What a rule last published (or found unchanged) for one file."""

    relative_path: str
    model_key: str
    sha256: str
    size: int
    mtime_ns: int
    version_id: str | None
    published_at: float
    job_id: int | None = None  # on its way: the server has the file, the version is not there yet


def model_key(server_url: str, project_id: str, model_name: str) -> str:
    return f"{server_url}|{project_id}|{model_name.strip().lower()}"


class RuleStore:
    def __init__(self, history: JobHistory | None) -> None:
        self._db: sqlite3.Connection | None = history.connection if history and not history.read_only else None
        self._rules: dict[int, tuple[str, PublishRule]] = {}
        self._published: dict[tuple[str, str], Published] = {}
        self._next = 1

    # -- rules -------------------------------------------------------------------------------
    def rules(self, server_url: str) -> list[PublishRule]:
        if self._db is None:
            return [rule for url, rule in self._rules.values() if url == server_url]
        rows = self._db.execute("SELECT id, spec FROM rules WHERE server_url = ? ORDER BY id", (server_url,))
        result = []
        for rule_id, spec in rows.fetchall():
            try:
                result.append(PublishRule.from_json(json.loads(spec), rule_id=int(rule_id)))
            except (ValueError, TypeError, KeyError) as exc:  # a rule this version cannot read stays stored
                log.warning("watched-folder rule %s skipped: %s", rule_id, exc)
        return result

    def save(self, rule: PublishRule) -> PublishRule:
        spec = json.dumps(rule.to_json())
        if self._db is None:
            if rule.id is None:
                rule.id, self._next = self._next, self._next + 1
            self._rules[rule.id] = (rule.server_url, rule)
            return rule
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if rule.id is None:
                cursor = self._db.execute("INSERT INTO rules (server_url, spec, created_at) VALUES (?, ?, ?)",
                                          (rule.server_url, spec, time.time()))
                rule.id = int(cursor.lastrowid or 0)
            else:
                self._db.execute("UPDATE rules SET spec = ?, server_url = ? WHERE id = ?",
                                 (spec, rule.server_url, rule.id))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return rule

    def delete(self, rule: PublishRule) -> None:
        if rule.id is None:
            return
        if self._db is None:
            self._rules.pop(rule.id, None)
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("DELETE FROM rules WHERE id = ?", (rule.id,))
            self._db.execute("DELETE FROM published WHERE rule_key = ?", (rule.key,))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- what was published ------------------------------------------------------------------
    def published(self, rule_key: str) -> dict[str, Published]:
        if self._db is None:
            return {path: p for (key, path), p in self._published.items() if key == rule_key}
        rows = self._db.execute("SELECT relative_path, model_key, sha256, size, mtime_ns, version_id, published_at, "
                                "job_id FROM published WHERE rule_key = ?", (rule_key,)).fetchall()
        return {row[0]: Published(*row) for row in rows}

    def last_hash_for_model(self, key: str) -> str | None:
        """The content last published to a model by any rule, or on its way there (an export with the same
        bytes is not sent again)."""
        if self._db is None:
            candidates = [p for p in self._published.values()
                          if p.model_key == key and (p.version_id or p.job_id is not None)]
            return max(candidates, key=lambda p: p.published_at).sha256 if candidates else None
        row = self._db.execute("SELECT sha256 FROM published WHERE model_key = ? AND (version_id IS NOT NULL OR "
                               "job_id IS NOT NULL) ORDER BY published_at DESC LIMIT 1", (key,)).fetchone()
        return str(row[0]) if row else None

    def forget(self, rule_key: str, relative_path: str) -> None:
        self._published.pop((rule_key, relative_path), None)
        if self._db is not None:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("DELETE FROM published WHERE rule_key = ? AND relative_path = ?",
                                 (rule_key, relative_path))
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                log.warning("could not forget a publish: %s", exc)

    def record(self, rule_key: str, record: Published) -> None:
        if self._db is None:
            self._published[(rule_key, record.relative_path)] = record
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT OR REPLACE INTO published (rule_key, relative_path, model_key, sha256, size, mtime_ns, "
                "version_id, job_id, published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rule_key, record.relative_path, record.model_key, record.sha256, record.size, record.mtime_ns,
                 record.version_id, record.job_id, record.published_at))
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            log.warning("could not record a publish: %s", exc)
            self._published[(rule_key, record.relative_path)] = record
