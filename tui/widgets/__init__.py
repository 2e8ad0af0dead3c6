"""The right-column panes of the main screen and the artifact viewer.

The names below load on first use, so importing one widget module (the start screen's button,
on the app's first frame) does not import every pane.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.widgets.artifact_viewer import ArtifactViewer
    from tui.widgets.cost_pane import CostPane
    from tui.widgets.state_pane import StatePane
    from tui.widgets.timeline_pane import TimelinePane
    from tui.widgets.workflow_pane import (
        Graph,
        Node,
        WorkflowPane,
        graph_for_pack,
        render_graph,
    )

_HOMES = {
    "ArtifactViewer": "artifact_viewer",
    "CostPane": "cost_pane",
    "Graph": "workflow_pane",
    "Node": "workflow_pane",
    "StatePane": "state_pane",
    "TimelinePane": "timeline_pane",
    "WorkflowPane": "workflow_pane",
    "graph_for_pack": "workflow_pane",
    "render_graph": "workflow_pane",
}

__all__ = [
    "ArtifactViewer",
    "CostPane",
    "Graph",
    "Node",
    "StatePane",
    "TimelinePane",
    "WorkflowPane",
    "graph_for_pack",
    "render_graph",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'tui.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tui.widgets.{home}"), name)
    globals()[name] = value
    return value
