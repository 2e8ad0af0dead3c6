"""The main screen's timeline: the branch tree, the fork preview of a checkpoint, switching
branch and comparing branches. Kept apart from the layout (like :mod:`main_control`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agents.store import StoreError
from tui.branch_tree import load_branch_tree
from tui.screens.choices import EditChoice, RollbackChoice

if TYPE_CHECKING:
    from textual.screen import Screen

    from agents.store import Store
    from personas.models import Pack
    from tui.screens.main import MainScreen


async def open_compare(screen: Screen[Any], store: Store, session_id: str, pack: Pack,
                       current: str) -> None:
    """Push the Compare screen for the session, or say why there is nothing to compare."""
    from tui.screens.compare import CompareScreen

    try:
        branches = await load_branch_tree(store, session_id)
    except StoreError as exc:
        screen.notify(f"Cannot read the branches: {exc}", severity="error", timeout=6)
        return
    if len(branches) < 2:
        screen.notify("This session has one branch: roll back to a checkpoint (Timeline, "
                      "Enter) to start another, then compare.", timeout=6)
        return
    await screen.app.push_screen(CompareScreen(store, session_id, pack, branches,
                                               current=current))


class TimelineControl:
    """Branches and checkpoints, for one main screen."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen

    def _tell(self, text: str, *, error: bool = False) -> None:
        self.screen.notify(text, severity="error" if error else "information",
                           timeout=6 if error else 4)

    # ------------------------------------------------------------------ older checkpoints

    def load_older(self) -> None:
        """Fill in the checkpoints before the page shown, and the workflow graph's counts (in a
        worker, after the first frame)."""
        if self.screen.older_timeline is not None:
            self.screen.run_worker(self._load_older(self.screen.older_timeline),
                                   name="timeline", group="timeline", exclusive=True,
                                   exit_on_error=False)

    async def _load_older(self, upto_seq: int) -> None:
        """The timeline's and the workflow graph's part before the page shown."""
        from agents.stored import stored_steps, stored_timeline

        session, workflow = self.screen.session, self.screen.workflow_pane
        try:
            events = await stored_timeline(session.store, session.id, session.branch_id, upto_seq)
            steps = await stored_steps(session.store, session.id, session.branch_id, upto_seq)
        except StoreError as exc:
            workflow.stop_expecting()
            self._tell(f"Cannot read the timeline: {exc}", error=True)
            return
        self.screen.timeline_pane.prepend(events)
        workflow.prepend(steps)
        self.screen.older_timeline = None

    # ------------------------------------------------------------------ the branch tree

    def refresh_branches(self) -> None:
        """Reload the branch tree from the store (in a worker)."""
        self.screen.run_worker(self._load_branches(), name="branches", group="branches",
                               exclusive=True, exit_on_error=False)

    async def _load_branches(self) -> None:
        session = self.screen.session
        try:
            branches = await load_branch_tree(session.store, session.id)
        except StoreError as exc:
            self._tell(f"Cannot read the branches: {exc}", error=True)
            return
        self.screen.timeline_pane.set_branches(branches, session.branch_id)

    def next_branch(self) -> None:
        """Switch to the branch after the current one in the tree."""
        target = self.screen.timeline_pane.next_branch()
        if target is None:
            self._tell("This session has one branch; roll back to a checkpoint to start "
                       "another (Timeline, Enter).")
            return
        self.switch_to(target.id)

    def switch_to(self, branch_id: str) -> None:
        """Reopen the session on ``branch_id`` (stopping a run first); it becomes the head."""
        screen = self.screen
        if branch_id == screen.session.branch_id:
            self._tell("That is the branch you are on.")
            return
        history = list(screen.chat_input.history)
        screen.app.run_worker(
            screen.app_main.open_session(screen.session.id, branch=branch_id, history=history,
                                         make_head=True),
            name="switch-branch", group="boot", exit_on_error=False)

    # ------------------------------------------------------------------ compare

    def compare(self) -> None:
        """Open the Compare screen on the current branch and its parent."""
        self.screen.run_worker(self._compare(), name="compare", group="preview",
                               exclusive=True, exit_on_error=False)

    async def _compare(self) -> None:
        session = self.screen.session
        await open_compare(self.screen, session.store, session.id, session.pack,
                           session.branch_id)

    # ------------------------------------------------------------------ the fork preview

    def preview(self, turn: int) -> None:
        """Open the fork preview of the checkpoint of ``turn`` on the current branch."""
        self.screen.run_worker(self._preview(turn), name="fork-preview", group="preview",
                               exclusive=True, exit_on_error=False)

    async def _preview(self, turn: int) -> None:
        from tui.screens.fork_preview import ForkPreviewScreen, load_checkpoint

        screen = self.screen
        session = screen.session
        try:
            view = await load_checkpoint(session.store, session.id, session.branch_id, turn)
        except (ValueError, StoreError) as exc:
            self._tell(f"Cannot show turn {turn}: {exc}.", error=True)
            return
        preview = ForkPreviewScreen(view, session.pack, budget_usd=session.budget_usd)

        def chosen(choice: RollbackChoice | EditChoice | None) -> None:
            if isinstance(choice, EditChoice):
                screen.control.rollback(choice.turn, edit=(choice.message_id, choice.text))
            elif isinstance(choice, RollbackChoice):
                screen.control.rollback(choice.turn)

        await screen.app.push_screen(preview, callback=chosen)
