"""Run control for the main screen: slash commands, pause/step/resume/stop, budget, seats and
rollback. Kept apart from the layout so each file stays readable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.store import StoreError
from tui.widgets.chat_input import SLASH_COMMANDS, Command, Invalid, Say, parse_line

if TYPE_CHECKING:
    from tui.screens.main import MainScreen


class RunControl:
    """Everything the user can do to the run, for one main screen."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen

    @property
    def running(self) -> bool:
        return self.screen.bridge.running

    def _tell(self, text: str, *, error: bool = False) -> None:
        self.screen.notify(text, severity="error" if error else "information",
                           timeout=6 if error else 4)

    # ------------------------------------------------------------------ the input line

    async def line(self, text: str) -> None:
        session = self.screen.session
        parsed = parse_line(text, [p.id for p in session.pack.personas])
        if isinstance(parsed, Invalid):
            self._tell(parsed.message, error=True)
        elif isinstance(parsed, Say):
            self.say(parsed.text, parsed.to)
        else:
            await self.command(parsed)

    def say(self, text: str, to: str | None = None) -> None:
        self.screen.session.say(text, to)
        if not self.running and not self.screen.starting:
            self._tell("Message queued: the group hears it when the run continues (/resume).")

    async def command(self, command: Command) -> None:
        name, arg = command.name, command.arg
        if name == "pause":
            self.pause()
        elif name == "step":
            self.step()
        elif name == "resume":
            self.resume()
        elif name == "stop":
            self.stop()
        elif name == "help":
            await self.screen.app.run_action("help")
        elif name == "budget" and isinstance(arg, float):
            self.budget(arg)
        elif name == "turns" and isinstance(arg, int):
            self.turns(arg)
        elif name == "rollback" and isinstance(arg, int):
            self.rollback(arg)
        elif name == "seat" and isinstance(arg, str):
            self.seat(arg)
        elif name == "unseat" and isinstance(arg, str):
            self.unseat(arg)

    # ------------------------------------------------------------------ run control

    def start_run(self) -> None:
        if self.running:
            return
        self.screen.end_reason = None
        self.screen.run_state = "pausing" if self.screen.session.paused else "running"
        self.screen.bridge.start()

    def pause(self) -> None:
        if not self.running and not self.screen.starting:
            self._tell("Nothing is running; /resume starts the run, /step runs one turn.")
            return
        if self.screen.session.paused:
            self._tell("Already paused; /step runs one turn, /resume continues.")
            return
        self.screen.session.pause()
        self.screen.run_state = "pausing"

    def resume(self) -> None:
        self.screen.session.resume()
        if self.running:
            self.screen.run_state = "running"
        else:
            self.start_run()

    def step(self) -> None:
        self.screen.session.step()
        if self.running:
            self.screen.run_state = "running"
        else:
            self.start_run()

    def pause_resume(self) -> None:
        if self.running and not self.screen.session.paused:
            self.pause()
        else:
            self.resume()

    def stop(self) -> None:
        if not self.running:
            self._tell("Nothing is running.")
            return
        self.screen.session.stop()
        self.screen.run_state = "stopping"

    def budget(self, usd: float) -> None:
        self.screen.session.set_budget(usd)
        self.screen.cost_pane.set_budget(usd)
        self.screen.refresh_status()
        self._tell(f"Session budget set to ${usd:.2f}.")

    def turns(self, count: int) -> None:
        self.screen.session.max_turns = count
        self.screen.refresh_status()
        self._tell(f"Turn limit set to {count}.")

    def seat(self, persona_id: str) -> None:
        session = self.screen.session
        try:
            session.take_seat(persona_id)
        except ValueError as exc:
            self._tell(str(exc), error=True)
            return
        persona = session.pack.persona(persona_id)
        name = persona.name if persona else persona_id
        self._tell(f"You hold {name}'s seat: you will write its turns. /unseat {persona_id} "
                   "gives it back.")
        self.screen.refresh_status()

    def unseat(self, persona_id: str) -> None:
        session = self.screen.session
        if persona_id not in session.human_seats:
            self._tell(f"You do not hold {persona_id}'s seat.", error=True)
            return
        session.leave_seat(persona_id)
        self._tell(f"{persona_id}'s seat is back with the model.")
        self.screen.refresh_status()

    # ------------------------------------------------------------------ rollback

    def rollback(self, turn: int, *, edit: tuple[str, str] | None = None) -> None:
        """Stop the run if needed, fork at ``turn`` and show the new branch. With ``edit``
        (message id, new text) that message is replaced on the new branch, which then runs."""
        if turn > self.screen.session.turn:
            self._tell(f"There is no turn {turn} yet (the last is {self.screen.session.turn}).",
                       error=True)
            return
        self.screen.run_worker(self._rollback(turn, edit), name="rollback", group="control",
                               exclusive=True, exit_on_error=False)

    async def _rollback(self, turn: int, edit: tuple[str, str] | None = None) -> None:
        screen = self.screen
        if self.running:
            screen.run_state = "stopping"
            await screen.bridge.stop()
        try:
            forked = await screen.session.rollback(turn)
        except (ValueError, RuntimeError, StoreError) as exc:
            self._tell(f"Cannot roll back: {exc}.", error=True)
            return
        notice = (f"Rolled back to turn {forked.turn} on new branch {forked.name}; the old "
                  "branch is kept. /resume continues from here.")
        rerun = False
        if edit is not None:
            try:
                edited = await screen.session.edit_message(*edit)
            except (ValueError, RuntimeError, StoreError) as exc:
                self._tell(f"Cannot edit the message: {exc}.", error=True)
            else:
                rerun = True
                notice = (f"Edited {edited.name}'s message on new branch {forked.name} and "
                          f"re-running from turn {forked.turn}; the old branch is kept.")
        app = screen.app_main
        history = list(screen.chat_input.history)
        # The app's worker, not this screen's: this screen is replaced by the new one.
        screen.app.run_worker(app.show_session(screen.session, notice=notice, history=history,
                                               autostart=rerun),
                              name="show-session", group="boot", exit_on_error=False)


def help_rows() -> list[tuple[str, str]]:
    return list(SLASH_COMMANDS)
