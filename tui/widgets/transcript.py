"""The transcript: a virtualised scroll of messages, decisions, errors and notices.

All entries live in a :class:`~tui.widgets.transcript_model.TranscriptModel` (plain data). Only a
window of at most :attr:`Transcript.WINDOW` consecutive entries is mounted as widgets (never more
than :attr:`Transcript.MAX_MOUNTED`), normally the newest. Scrolling to the top of the window (or
clicking the "earlier" marker, or Page Up at the top) mounts the previous page and unmounts as many
from the bottom, keeping the view where it was; scrolling back down does the reverse. End jumps
back to the newest entries and follows new ones again. So a session of 10,000 messages costs
the same to show as one of 60.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from typing import ClassVar, Self

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widget import MountError, Widget

from agents.events import Event
from personas.models import Pack
from tui.widgets.entry_line import EntryLine
from tui.widgets.message_view import MessageView
from tui.widgets.transcript_marker import TranscriptMarker
from tui.widgets.transcript_model import Change, TranscriptModel

EntryWidget = MessageView | EntryLine
OlderLoader = Callable[[bool], Awaitable[tuple[list[Event], bool]]]
"""Loads the stored page before the model's first entry (with True: everything before it): its
events, and whether more are older."""


class Transcript(VerticalScroll, can_focus=True):
    """The chat transcript, virtualised; feed it engine events with :meth:`handle`."""

    WINDOW: ClassVar[int] = 30
    """Entries kept mounted after any load or trim."""
    PAGE: ClassVar[int] = 20
    """Entries mounted per "load earlier/later" step."""
    MAX_MOUNTED: ClassVar[int] = WINDOW + PAGE
    """Hard cap: while the user reads history, new entries stop mounting past this."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "scroll_up", "Scroll up", show=False, id="transcript.up"),
        Binding("down", "scroll_down", "Scroll down", show=False, id="transcript.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="transcript.page-up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="transcript.page-down"),
        Binding("home", "earliest", "First message", show=False, id="transcript.home"),
        Binding("end", "latest", "Latest message", show=False, id="transcript.end"),
        Binding("left", "scroll_left", "Scroll left", show=False, id="transcript.left"),
        Binding("right", "scroll_right", "Scroll right", show=False, id="transcript.right"),
        Binding("ctrl+pageup", "page_left", "Page left", show=False, id="transcript.page-left"),
        Binding("ctrl+pagedown", "page_right", "Page right", show=False,
                id="transcript.page-right"),
    ]

    DEFAULT_CSS = """
    Transcript { height: 1fr; padding: 0 1 0 0; }
    Transcript:focus { background-tint: $foreground 3%; }
    """

    def __init__(self, pack: Pack | None = None, *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._pack = pack
        self.model = TranscriptModel(pack)
        self._start = 0
        self._end = 0
        self._views: list[EntryWidget] = []
        self._lock = asyncio.Lock()
        self._restoring = False
        self._older: OlderLoader | None = None
        self._earlier = TranscriptMarker("earlier", id="transcript-earlier")
        self._later = TranscriptMarker("later", id="transcript-later")

    def compose(self) -> Iterable[Widget]:
        yield self._earlier
        yield self._later

    def on_mount(self) -> None:
        self.anchor()

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> Self:
        # A layout (an entry mounted, removed or grown; the virtual size changing) moves the
        # entries, and the compositor repaints where they moved; the transcript's own lines
        # (background, padding: no content) stay as they were, so they need no repaint. A
        # change of size still repaints them (Widget._size_updated).
        if layout and not regions:
            repaint = False
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    # ------------------------------------------------------------------ public API

    @property
    def window(self) -> tuple[int, int]:
        """The mounted entries, as the half-open range ``(start, end)`` of model indexes."""
        return self._start, self._end

    @property
    def mounted_count(self) -> int:
        return len(self._views)

    @property
    def views(self) -> list[EntryWidget]:
        return list(self._views)

    def view_for(self, index: int) -> EntryWidget | None:
        if self._start <= index < self._end:
            return self._views[index - self._start]
        return None

    def set_older(self, loader: OlderLoader | None) -> None:
        """The model starts with the newest page of a stored session: ``loader`` brings the page
        before (scrolling to the top, Page Up, Home), until it says there is none."""
        self._older = loader
        if self.is_mounted:
            self._refresh_markers()

    @property
    def has_older(self) -> bool:
        """Older stored entries exist that the model has not loaded yet."""
        return self._older is not None

    async def _load_older(self, everything: bool = False) -> int:
        """(Holding the lock) prepend the stored page before the model's first entry (or all
        of them); how many entries it added (0 when none is left)."""
        loader = self._older
        added = 0
        while loader is not None and not added:
            try:
                events, more = await loader(everything)
            except Exception as exc:  # the store failed: say so; scrolling up again retries
                self.notify(f"Cannot load older messages: {exc}", severity="error", timeout=6)
                return 0
            if not more:
                self._older = loader = None
            added = await self.model.prepend_gradually(events)
            self._start += added
            self._end += added
            for widget in self._views:
                widget.index += added
        return added

    async def load(self, events: Iterable[Event]) -> None:
        """Add stored events in bulk (no widget per event), then show the newest window."""
        for event in events:
            self.model.apply(event)
        await self.show_latest()

    async def reset(self, events: Iterable[Event] = ()) -> None:
        """Start again from nothing (or from ``events``, in bulk) and show the newest window:
        a replay stepping back rebuilds the transcript this way."""
        model = TranscriptModel(self._pack)
        for event in events:
            model.apply(event)
        async with self._lock:
            self.model = model
            self._older = None
            total = len(model)
            await self._remount(max(0, total - self.WINDOW), total)
        self.anchor()

    async def handle(self, event: Event) -> None:
        """Add one live engine event."""
        model = self.model
        before = model.prepended
        change = model.apply(event)
        if change is None or not self.is_attached:  # e.g. the app is closing: data only
            return
        async with self._lock:
            if model.prepended != before:  # an older page came in meanwhile: indexes moved
                change = dataclasses.replace(change, index=change.index + model.prepended - before)
            try:
                if change.op == "added":
                    await self._added(change.index)
                else:
                    await self._updated(change)
            except MountError:
                if self.is_attached:
                    raise  # only a transcript being taken down may miss a mount

    async def show_latest(self) -> None:
        """Mount the newest window and follow new entries."""
        async with self._lock:
            total = len(self.model)
            await self._remount(max(0, total - self.WINDOW), total)
        self.anchor()

    async def show_earliest(self) -> None:
        async with self._lock:
            await self._load_older(everything=True)
            await self._remount(0, min(len(self.model), self.WINDOW))
        self.scroll_home(animate=False, immediate=True)

    async def load_earlier(self) -> bool:
        """Mount the page before the window (unmounting as many at the bottom)."""
        async with self._lock:
            if self._start == 0 and not await self._load_older():
                return False
            keep = self._views[0] if self._views else None
            was = keep.virtual_region.y if keep else 0
            offset = was - self.scroll_y
            new_start = max(0, self._start - self.PAGE)
            widgets = [self._make(i) for i in range(new_start, self._start)]
            if self._views:
                await self.mount_all(widgets, before=self._views[0])
            else:
                await self.mount_all(widgets)
            self._views[0:0] = widgets
            self._start = new_start
            await self._trim_bottom(len(self._views) - self.WINDOW)
            self._refresh_markers()
            if keep is not None:
                self._keep_in_place(keep, offset, moved_from=was if widgets else None)
            return True

    async def load_later(self) -> bool:
        """Mount the page after the window (unmounting as many at the top)."""
        async with self._lock:
            total = len(self.model)
            if self._end >= total:
                return False
            keep = self._views[-1] if self._views else None
            was = keep.virtual_region.y if keep else 0
            offset = was - self.scroll_y
            new_end = min(total, self._end + self.PAGE)
            widgets = [self._make(i) for i in range(self._end, new_end)]
            await self.mount_all(widgets)
            self._views.extend(widgets)
            self._end = new_end
            trimmed = len(self._views) - self.WINDOW
            await self._trim_top(trimmed)
            self._refresh_markers()
            if keep is not None:
                self._keep_in_place(keep, offset, moved_from=was if trimmed > 0 else None)
            return True

    # ------------------------------------------------------------------ actions

    async def action_latest(self) -> None:
        await self.show_latest()

    async def action_earliest(self) -> None:
        await self.show_earliest()

    def action_scroll_up(self) -> None:
        if self.scroll_y <= 0 and self._can_go_earlier():
            self.call_later(self.load_earlier)
            return
        super().action_scroll_up()

    def action_page_up(self) -> None:
        if self.scroll_y <= 0 and self._can_go_earlier():
            self.call_later(self.load_earlier)
            return
        super().action_page_up()

    def action_scroll_down(self) -> None:
        if self.scroll_y >= self.max_scroll_y and self._end < len(self.model):
            self.call_later(self.load_later)
            return
        super().action_scroll_down()

    def action_page_down(self) -> None:
        if self.scroll_y >= self.max_scroll_y and self._end < len(self.model):
            self.call_later(self.load_later)
            return
        super().action_page_down()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._lock.locked() or self._restoring or not self.is_mounted:
            return
        if self.max_scroll_y <= 0:  # everything fits: the markers and keys load more
            return
        if new_value < old_value and new_value <= 0 and self._can_go_earlier():
            self.call_later(self.load_earlier)
        elif (new_value > old_value and new_value >= self.max_scroll_y
              and self._end < len(self.model)):
            self.call_later(self.load_later)

    # ------------------------------------------------------------------ internals

    def _can_go_earlier(self) -> bool:
        return self._start > 0 or self._older is not None

    def _following(self) -> bool:
        # Textual (pinned) keeps "the user scrolled away" in _anchor_released; anchored and not
        # released means the view sticks to the bottom as entries arrive.
        return self.is_anchored and not self._anchor_released

    def _make(self, index: int) -> EntryWidget:
        entry = self.model.entries[index]
        if entry.kind == "message":
            to_name = self.model.name_of(entry.to) if entry.to else None
            return MessageView(entry, index, to_name)
        return EntryLine(entry, index)

    async def _added(self, index: int) -> None:
        if self._end != index:  # the window is not at the newest entries: just count it
            self._refresh_markers()
            return
        following = self._following()
        if not following and len(self._views) >= self.MAX_MOUNTED:
            self._refresh_markers()
            return
        widget = self._make(index)
        self._views.append(widget)
        self._end += 1
        await self.mount(widget)  # appended: no sibling needs restyling
        if following:
            await self._trim_top(len(self._views) - self.WINDOW)
        self._refresh_markers()

    async def _updated(self, change: Change) -> None:
        view = self.view_for(change.index)
        if isinstance(view, MessageView):
            if change.finished:
                await view.finish()
            elif change.delta:
                await view.append(change.delta)
        elif isinstance(view, EntryLine):
            view.refresh_entry()

    async def _remount(self, start: int, end: int) -> None:
        if self._views:
            await self._unmount(self._views)
        widgets = [self._make(i) for i in range(start, end)]
        if widgets:
            await self.mount_all(widgets)
        self._views = widgets
        self._start, self._end = start, end
        self._refresh_markers()

    async def _trim_top(self, count: int) -> None:
        if count <= 0:
            return
        gone, self._views = self._views[:count], self._views[count:]
        self._start += count
        await self._unmount(gone)

    async def _trim_bottom(self, count: int) -> None:
        if count <= 0:
            return
        gone, self._views = self._views[-count:], self._views[:-count]
        self._end -= count
        await self._unmount(gone)

    async def _unmount(self, widgets: list[EntryWidget]) -> None:
        # Textual's StylesCache.get_inner_outer is an lru_cache on an instance method, so the
        # last 1,024 widgets' style caches (every line they drew) outlive the widgets: drop
        # the lines, keep the (empty) cache objects.
        nodes = [node for widget in widgets for node in widget.walk_children(with_self=True)]
        await self.remove_children(widgets)
        for node in nodes:
            if isinstance(node, Widget):
                node._styles_cache.clear()

    def _keep_in_place(self, widget: Widget, offset: float, *, moved_from: int | None = None,
                       tries: int = 10) -> None:
        """After the next layout, scroll so ``widget`` is again ``offset`` rows from the top.

        ``moved_from``: the widget's row before entries were mounted above it or unmounted
        there, so it must have moved: while it has not, that layout has not happened yet (a
        refresh can come first), and restoring then would scroll to the wrong row."""

        def restore() -> None:
            if not widget.is_attached:
                return
            if moved_from is not None and widget.virtual_region.y == moved_from and tries:
                self._keep_in_place(widget, offset, moved_from=moved_from, tries=tries - 1)
                return
            self._restoring = True
            try:
                self.scroll_to(y=max(0.0, widget.virtual_region.y - offset), animate=False,
                               immediate=True)
            finally:
                self._restoring = False

        self.call_after_refresh(restore)

    def _refresh_markers(self) -> None:
        earlier, later = self._start, len(self.model) - self._end
        self._earlier.display = earlier > 0 or self._older is not None
        self._later.display = later > 0
        if self._older is not None:
            self._earlier.show(f"↑ {earlier:,}+ earlier · scroll up, click or press Home")
        elif earlier:
            self._earlier.show(f"↑ {earlier:,} earlier · scroll up, click or press Home")
        if later:
            self._later.show(f"↓ {later:,} newer · scroll down, click or press End")
