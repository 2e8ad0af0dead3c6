"""Orchestration patterns, one module each; ``make_pattern`` picks the pack's."""

from __future__ import annotations

import importlib

from agents.patterns.base import Pattern
from personas.models import Pack

PATTERN_MODULES = {
    "group_chat": ("agents.patterns.group_chat", "GroupChat"),
    "sequential": ("agents.patterns.sequential", "Sequential"),
    "parallel": ("agents.patterns.parallel", "Parallel"),
    "hierarchical": ("agents.patterns.hierarchical", "Hierarchical"),
    "router": ("agents.patterns.router", "Router"),
    "orchestrator_worker": ("agents.patterns.orchestrator_worker", "OrchestratorWorker"),
    "handoff": ("agents.patterns.handoff", "Handoff"),
}


def make_pattern(pack: Pack) -> Pattern:
    """A fresh strategy object for the pack's pattern."""
    module_name, class_name = PATTERN_MODULES[pack.pack.pattern]
    module = importlib.import_module(module_name)
    pattern: Pattern = getattr(module, class_name)(pack)
    return pattern
