"""The start screen's Start button: a ``Button`` that brings only the CSS of its own look.

``Button``'s default CSS styles every variant, flat and ANSI form (7 kB); parsing it was a tenth
of the start screen's first frame. This one is the same widget, drawn by the same rules
(default style, primary variant, copied from Textual's ``Button``), and nothing else.
"""

from __future__ import annotations

from textual.widgets import Button


class StartButton(Button, inherit_css=False):
    """A primary ``Button`` (``variant="primary"``), with only the CSS that variant uses."""

    DEFAULT_CSS = """
    StartButton {
        width: auto;
        min-width: 16;
        height: auto;
        line-pad: 1;
        text-align: center;
        content-align: center middle;
        pointer: pointer;

        &.-style-default {
            text-style: bold;
            color: $button-foreground;
            background: $surface;
            border: none;
            border-top: tall $surface-lighten-1;
            border-bottom: tall $surface-darken-1;

            &.-textual-compact {
                border: none !important;
            }
            &:disabled {
                text-opacity: 0.6;
                pointer: not-allowed;
            }
            &:focus {
                text-style: $button-focus-text-style;
                background-tint: $foreground 5%;
            }
            &:hover {
                border-top: tall $surface;
                background: $surface-darken-1;
            }
            &.-active {
                background: $surface;
                border-bottom: tall $surface-lighten-1;
                border-top: tall $surface-darken-1;
                tint: $background 30%;
            }
            &.-primary {
                color: $button-color-foreground;
                background: $primary;
                border-top: tall $primary-lighten-3;
                border-bottom: tall $primary-darken-3;

                &:hover {
                    background: $primary-darken-2;
                    border-top: tall $primary;
                }
                &.-active {
                    background: $primary;
                    border-bottom: tall $primary-lighten-3;
                    border-top: tall $primary-darken-3;
                }
            }
        }
    }
    """
