"""The right-column panes of the main screen and the artifact viewer."""

from tui.widgets.artifact_viewer import ArtifactViewer
from tui.widgets.cost_pane import CostPane
from tui.widgets.state_pane import StatePane
from tui.widgets.timeline_pane import TimelinePane
from tui.widgets.workflow_pane import Graph, Node, WorkflowPane, graph_for_pack, render_graph

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
