"""The terminal chat: rich output, streamed replies, confirmation panels, slash commands.

When standard input is not a terminal it reads one customer message per line and prints each reply,
so it can be scripted: `printf 'hi\\n' | support-agent chat`.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.status import Status
from rich.text import Text

from agent.events import Event, Reply
from agent.labels import REPL, labels
from tools.errors import StoreError
from agent.session import Session
from agent.support_agent import SupportAgent

DATABASE_DOWN = "We can't reach our records just now. Please try again in a moment; nothing you confirmed is lost."
HELP = """\
Type a message as the customer would. Commands:
  /help    this help
  /reset   start a new conversation (forget who the customer is)
  /policy  show the store policy the agent follows
  /trace   show or hide tool calls and their results
  /quit    leave (Ctrl-D or Ctrl-C also work)"""


class Repl:
    def __init__(self, agent: SupportAgent, *, show_tools: bool = False, console: Console | None = None,
                 interactive: bool | None = None, lang: str | None = None):
        self.agent = agent
        self.lang = lang
        self.console = console or Console(highlight=False)
        self.show_tools = show_tools
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        self.session: Session = agent.session(lang)
        self._status: Status | None = None
        self._streaming = False

    # ---- input ----------------------------------------------------------------------------------

    def run(self, stdin: TextIO | None = None) -> int:
        if not self.interactive:
            return self._run_lines(stdin or sys.stdin)
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import InMemoryHistory

        prompt = PromptSession(history=InMemoryHistory())
        self.console.print(Panel.fit(
            f"[bold]{self.agent.policy.store.name}[/] support chat  ·  model: {self.agent.describe()['model']}\n"
            "Demo logins: jane.doe@example.com / 94107, omar.haddad@example.com / 10001 … "
            "Type [bold]/help[/] for commands.", border_style="cyan"))
        while True:
            try:
                text = prompt.prompt(f"{self.label('you')} › ")
            except (EOFError, KeyboardInterrupt):
                self.console.print(f"[dim]{self.label('bye')}[/]")
                return 0
            try:
                if not self._handle(text):
                    return 0
            except KeyboardInterrupt:
                self._stop_status()
                self.console.print("\n[dim](interrupted)[/]")

    def _run_lines(self, stream: TextIO) -> int:
        for line in stream:
            text = line.rstrip("\n")
            if not text.strip():
                continue
            self.console.print(f"[bold]{self.label('you')} ›[/] {text}")
            if not self._handle(text):
                break
        return 0

    def _handle(self, text: str) -> bool:
        command = text.strip().lower()
        if command in ("/quit", "/exit"):
            return False
        if command == "/help":
            self.console.print(HELP)
        elif command == "/reset":
            self.session = self.agent.session(self.lang)
            self.console.print(f"[dim]{self.label('new_conversation')}[/]")
        elif command == "/policy":
            self.console.print(Markdown(self.agent.policy.prose))
        elif command == "/trace":
            self.show_tools = not self.show_tools
            self.console.print(f"[dim]tool trace {'on' if self.show_tools else 'off'}[/]")
        elif command.startswith("/"):
            self.console.print(f"[yellow]Unknown command {command}.[/] Type /help.")
        elif command:
            try:
                self._after(self._turn(lambda on_event: self.session.send(text, on_event=on_event)))
            except StoreError as exc:  # the database went away mid-conversation: say so calmly, go on
                self._stop_status()
                self.console.print(f"\n[yellow]{DATABASE_DOWN}[/]\n[dim]({exc})[/]")
        return True

    # ---- output ---------------------------------------------------------------------------------

    def _turn(self, run) -> Reply:
        self._streaming = False
        if self.interactive:
            self._status = self.console.status(f"[dim]{self.label('thinking')}[/]", spinner="dots")
            self._status.start()
        try:
            reply = run(self._on_event)
        finally:
            self._stop_status()
        if self._streaming:
            self.console.print()
        else:  # nothing was streamed (e.g. a fixed answer): print it whole
            self._print_agent(reply.text)
        return reply

    def _after(self, reply: Reply) -> None:
        action = reply.pending_action
        while action is not None and self.interactive:
            self.console.print(Panel(action.summary, title=self.label("confirm_title"), border_style="yellow"))
            try:
                answer = self.console.input(f"[bold yellow]{escape(self.label('confirm_prompt'))} [/]").strip()
            except (EOFError, KeyboardInterrupt):
                answer = "n"
            if not answer:
                continue
            reply = self._turn(self._answer(answer, action.id))
            action = reply.pending_action

    def _answer(self, answer: str, action_id: str):
        """A key confirms or declines; anything else the customer typed ("yes, and also where is W1003?",
        "I want a human") is a message, understood as any other (nothing typed is lost)."""
        key = answer.lower()
        if key in self.label("yes_keys").split() + ["y", "yes"]:
            return lambda on_event: self.session.confirm(action_id, on_event=on_event)
        if key in ("n", "no"):
            return lambda on_event: self.session.decline(action_id, on_event=on_event)
        return lambda on_event: self.session.send(answer, on_event=on_event)

    def _on_event(self, event: Event) -> None:
        if event.type == "text_delta":
            self._stop_status()
            if not self._streaming:
                self.console.print(f"[bold green]{self.label('agent')} ›[/] ", end="")
                self._streaming = True
            # raw output: the terminal wraps the streamed reply as one text (rich would wrap each piece)
            self.console.out(event.data["text"], end="", highlight=False)
        elif event.type == "text_reset":
            if self._streaming:
                self.console.print("\n[dim](correcting…)[/]")
                self._streaming = False
        elif event.type == "tool_call":
            if self._status is not None:
                self._status.update(f"[dim]{event.data['label']}[/]")
            if self.show_tools:
                self._dim(f"→ {event.data['tool']}({event.data['arguments']})")
        elif event.type == "tool_result" and self.show_tools:
            rule = f" rule={event.data['rule']}" if event.data.get("rule") else ""
            self._dim(f"← {event.data['status']}{rule}: {event.data['message']}")
        elif event.type == "error":
            self._dim(f"! {event.data['message']}")

    def _dim(self, line: str) -> None:
        was_streaming = self._streaming
        if was_streaming:
            self.console.print()
            self._streaming = False
        self.console.print(Text("  " + line, style="dim"))

    def _print_agent(self, text: str) -> None:
        self.console.print(Text.assemble((f"{self.label('agent')} › ", "bold green"), text))

    def label(self, key: str) -> str:
        """A REPL label in the conversation's language (agent/labels.py)."""
        return labels(REPL, self.session.reply_locale)[key]

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def warm_in_background(agent: SupportAgent) -> threading.Thread:
    """Prefill the prompt prefix while the customer types their first message."""
    thread = threading.Thread(target=_safe_warm, args=(agent,), daemon=True)
    thread.start()
    return thread


def _safe_warm(agent: SupportAgent) -> None:
    try:
        agent.warm()
    except Exception:  # warming is an optimisation; the first turn will simply be slower
        pass
