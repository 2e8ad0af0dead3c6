"""The session browser: every saved session, newest first; open one, play it back (replay, no
model call), or delete it after a yes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from agents.store import SessionRow, Store, StoreError
from tui.screens.choices import PlayChoice
from tui.screens.confirm import ConfirmScreen

__all__ = ["SessionsScreen", "format_cost", "format_when", "newest_first"]

# Widths of the columns after the title (cell padding included); the title takes the rest.
FIXED_COLUMNS = {"pack": 16, "created": 16, "turns": 5, "cost": 8}
CELL_PADDING = 2
MIN_TITLE = 16
EMPTY_TEXT = (
    "No saved sessions yet. Start one from the start screen: pick a pack, type a topic, "
    "press Enter."
)


def format_when(when: datetime) -> str:
    """A timestamp in the user's local time, to the minute."""
    local = when.astimezone() if when.tzinfo is not None else when
    return local.strftime("%Y-%m-%d %H:%M")


def format_cost(usd: float) -> str:
    """USD with cents, or four decimals under a cent; "—" when nothing priced was spent."""
    if usd <= 0:
        return "—"
    return f"${usd:.4f}" if usd < 0.01 else f"${usd:.2f}"


def newest_first(rows: list[SessionRow]) -> list[SessionRow]:
    return sorted(rows, key=lambda row: row.created, reverse=True)


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


class SessionsScreen(Screen[str | PlayChoice | None]):
    """Browse the sessions in the database at ``db_path``; dismiss with an id to open, a
    :class:`PlayChoice` to replay, or None.

    The screen opens the store itself when mounted and closes it when unmounted.
    """

    CSS_PATH = "sessions.tcss"
    TITLE = "agentchat"
    SUB_TITLE = "Sessions"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", priority=True, id="sessions.open"),
        Binding("p", "play", "Replay", id="sessions.play"),
        Binding("d,delete", "delete", "Delete", id="sessions.delete"),
        Binding("r", "reload", "Reload", id="sessions.reload"),
        Binding("escape", "back", "Back", id="sessions.back"),
    ]

    def __init__(self, db_path: Path) -> None:
        super().__init__()
        self.db_path = db_path
        self.store: Store | None = None
        self.rows: dict[str, SessionRow] = {}
        self._title_width = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="sessions-box") as box:
            box.border_title = "Sessions"
            box.border_subtitle = str(self.db_path)
            yield DataTable(id="sessions-table", cursor_type="row", zebra_stripes=True)
            yield Static(EMPTY_TEXT, id="sessions-empty", markup=False)
        yield Static("", id="sessions-detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#sessions-table", DataTable).display = False
        self.run_worker(self._open_and_load(), name="sessions-load", exclusive=True)

    async def on_unmount(self) -> None:
        store, self.store = self.store, None
        if store is not None:
            await store.close()

    async def _open_and_load(self) -> None:
        try:
            if self.store is None:
                self.store = await Store.open(self.db_path)
            rows = await self.store.list_sessions()
        except StoreError as exc:
            self._show_empty(str(exc), error=True)
            return
        self.rows = {row.id: row for row in newest_first(rows)}
        self._populate()

    # -- the table -----------------------------------------------------------------------------

    def _title_width_for(self, width: int) -> int:
        fixed = sum(FIXED_COLUMNS.values()) + CELL_PADDING * (len(FIXED_COLUMNS) + 1)
        return max(MIN_TITLE, width - fixed - 6)  # margins, borders and the scrollbar

    def _populate(self) -> None:
        if not self.is_attached:
            return  # the screen was closed before the list finished loading
        table = self.query_one("#sessions-table", DataTable)
        selected = self.selected_id()
        self._title_width = self._title_width_for(self.size.width)
        table.clear(columns=True)
        table.add_column("Title", key="title", width=self._title_width)
        table.add_column("Pack", key="pack", width=FIXED_COLUMNS["pack"])
        table.add_column("Created", key="created", width=FIXED_COLUMNS["created"])
        table.add_column(Text("Turns", justify="right"), key="turns", width=FIXED_COLUMNS["turns"])
        table.add_column(Text("Cost USD", justify="right"), key="cost", width=FIXED_COLUMNS["cost"])
        for row in self.rows.values():
            table.add_row(
                Text(_cut(row.title or row.topic or "(untitled)", self._title_width), style="bold"),
                Text(_cut(row.pack_name, FIXED_COLUMNS["pack"])),
                Text(format_when(row.created), style="dim"),
                Text(str(row.turns), justify="right"),
                Text(format_cost(row.cost_usd), justify="right"),
                key=row.id,
            )
        box = self.query_one("#sessions-box", Vertical)
        box.border_title = f"Sessions ({len(self.rows)})"
        if not self.rows:
            self._show_empty(EMPTY_TEXT)
            return
        self.query_one("#sessions-empty", Static).display = False
        table.display = True
        ids = list(self.rows)
        if selected in self.rows:
            table.move_cursor(row=ids.index(selected))
        table.focus()
        self._show_detail()
        self.refresh_bindings()

    def _show_empty(self, text: str, *, error: bool = False) -> None:
        if not self.is_attached:
            return
        self.query_one("#sessions-table", DataTable).display = False
        empty = self.query_one("#sessions-empty", Static)
        empty.update(text)
        empty.set_class(error, "-error")
        empty.display = True
        self.query_one("#sessions-detail", Static).update("")
        self.refresh_bindings()

    def on_resize(self, event: events.Resize) -> None:
        if self.rows and self._title_width_for(event.size.width) != self._title_width:
            self._populate()

    def selected_id(self) -> str | None:
        """The id of the session under the cursor, if any."""
        table = self.query_one("#sessions-table", DataTable)
        if not self.rows or table.row_count == 0:
            return None
        row = min(max(table.cursor_row, 0), table.row_count - 1)
        key = table.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
        return key if key in self.rows else None

    @on(DataTable.RowHighlighted, "#sessions-table")
    def _show_detail(self) -> None:
        session_id = self.selected_id()
        detail = self.query_one("#sessions-detail", Static)
        if session_id is None:
            detail.update("")
            return
        row = self.rows[session_id]
        detail.update(
            f"{row.topic}\n{row.id[:12]} · {row.model} · {row.messages} messages · "
            f"updated {format_when(row.updated)}"
        )

    # -- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open", "delete", "play"):
            return True if self.rows else None
        return True

    @on(DataTable.RowSelected, "#sessions-table")
    def _row_clicked(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value in self.rows:
            self.dismiss(event.row_key.value)

    def action_open(self) -> None:
        session_id = self.selected_id()
        if session_id is not None:
            self.dismiss(session_id)

    def action_play(self) -> None:
        session_id = self.selected_id()
        if session_id is not None:
            self.dismiss(PlayChoice(session_id))

    def action_back(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.run_worker(self._open_and_load(), name="sessions-load", exclusive=True)

    def action_delete(self) -> None:
        session_id = self.selected_id()
        if session_id is None:
            return
        row = self.rows[session_id]
        title = row.title or row.topic or session_id

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.run_worker(self._delete(session_id, title), name="sessions-delete")

        self.app.push_screen(
            ConfirmScreen(
                f"Delete “{_cut(title, 80)}”?",
                "Its messages, branches and checkpoints are removed from the database. "
                "This cannot be undone.",
                title="Delete session",
                confirm_label="Delete",
                cancel_label="Keep",
                destructive=True,
            ),
            answered,
        )

    async def _delete(self, session_id: str, title: str) -> None:
        if self.store is None:
            return
        try:
            await self.store.delete_session(session_id)
        except StoreError as exc:
            self.notify(
                str(exc), title="Could not delete the session", severity="error", markup=False
            )
            return
        self.notify(f"Deleted “{_cut(title, 60)}”.", timeout=4, markup=False)
        await self._open_and_load()
