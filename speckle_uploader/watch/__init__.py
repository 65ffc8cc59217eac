"""Watched folders: each export of a model becomes its next version by itself, never twice, never half-written.

- ``rules``: what a rule says (folder, patterns, target model, message) and the templates it fills in
- ``files``: what is in a folder (ignored names, online-only placeholders, readiness to be read)
- ``settle``: when a file has stopped changing
- ``rule_store``: rules and what each published, kept in the history file
- ``publisher``: one rule at work on a workspace's queue (unchanged, supersede, catch-up, auto-pause)
- ``service``: every rule of a signed-in server, rescanning (``network``: how often) and listening to the
  operating system's notifications (``notifications``)
"""

from speckle_uploader.watch.publisher import RuleState, RuleStatus
from speckle_uploader.watch.rules import ModelMode, PublishRule
from speckle_uploader.watch.service import WatchService

__all__ = ["ModelMode", "PublishRule", "RuleState", "RuleStatus", "WatchService"]
