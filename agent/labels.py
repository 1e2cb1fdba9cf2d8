"""The words of the surfaces, as catalog messages: what a tool is doing while it runs (the widget's
activity line, the REPL's status), the REPL's labels and the chat widget's labels. Each is rendered in
the conversation's language like every other customer-facing text (agent/messages)."""

from __future__ import annotations

import re
from typing import Any

from agent.messages import SHIPPED, render
from tools.i18n import ENGLISH, N_

ACTIVITY = {
    "verify_customer": N_("Checking your details"),
    "get_order": N_("Looking up order {order_id}"),
    "list_orders": N_("Looking up your orders"),
    "track_shipment": N_("Tracking order {order_id}"),
    "cancel_order": N_("Preparing the cancellation of {order_id}"),
    "modify_order_address": N_("Preparing the address change for {order_id}"),
    "modify_order_items": N_("Preparing the item change for {order_id}"),
    "check_refund_eligibility": N_("Checking whether {order_id} can be returned"),
    "start_return": N_("Preparing a return for {order_id}"),
    "issue_refund": N_("Preparing a refund for {order_id}"),
    "report_lost_package": N_("Preparing a lost-package claim for {order_id}"),
    "file_complaint": N_("Filing your complaint"),
    "escalate_to_human": N_("Handing over to a human agent"),
    "search_help_center": N_("Searching the help center"),
    "update_account": N_("Preparing the account update"),
    "send_password_reset": N_("Sending a password reset link"),
}
WORKING = N_("Working on it")

# The terminal chat (agent/repl.py)
REPL = {
    "you": N_("you"),
    "agent": N_("agent"),
    "confirm_title": N_("Please confirm"),
    "confirm_prompt": N_("Go ahead? [y/n]"),
    # i18n: the answers to "Go ahead? [y/n]" that mean yes, separated by spaces (like the C library's YESEXPR)
    "yes_keys": N_("y yes"),
    "thinking": N_("thinking…"),
    "new_conversation": N_("New conversation."),
    "bye": N_("bye"),
}

# The chat widget (agent/web/widget.js asks for these by key: GET /api/labels?lang=...)
WIDGET = {
    "title": N_("Customer support"),
    "subtitle": N_("Orders, deliveries and returns"),
    "greeting": N_("Hi! I can help with your orders, deliveries, returns and account. To look at an order I'll "
                   "first need your email address and zip code."),
    "launcher": N_("Chat with us"),
    "open_chat": N_("Open chat: {title}"),
    "close_chat_title": N_("Close chat: {title}"),
    "close_chat": N_("Close chat"),
    "placeholder": N_("Type your message…"),
    "send": N_("Send message"),
    "your_message": N_("Your message"),
    "hint": N_("Enter to send · Shift+Enter for a new line"),
    "you": N_("You"),
    "support": N_("Support"),
    "confirm": N_("Confirm"),
    "cancel": N_("Cancel"),
    "cancel_long": N_("Cancel, do not make this change"),
    "confirm_title": N_("Please confirm this change"),
    "done": N_("Done."),
    "not_changed": N_("Not changed."),
    "failed": N_("This could not be done."),
    "request_failed": N_("The request failed."),
    "checking": N_("Checking the answer…"),
    "working": N_("Working on it…"),
    "wrong": N_("Something went wrong."),
    "thinking": N_("Thinking…"),
    "reconnecting": N_("Reconnecting…"),
    "connecting": N_("Connecting…"),
    "unreachable": N_("We can't reach the chat service right now."),
    "try_again": N_("Try again"),
    "reconnect_in": N_("Connection lost. Reconnecting in {seconds} s…"),
    "reconnected": N_("Reconnected. Waiting for the answer…"),
    "too_fast": N_("You're sending messages a little fast. Please wait {seconds} seconds and try again."),
    "too_long": N_("That message is too long ({limit} characters at most)."),
    "cant_start": N_("We couldn't start the chat. Please try again."),
    "ended": N_("That conversation has ended. Send your message again to start a new one."),
    "confirming": N_("Confirming…"),
    "cancelling": N_("Cancelling…"),
    "already_answered": N_("This was already answered."),
    "you_confirmed": N_("You confirmed the change."),
    "you_declined": N_("You declined the change."),
    "cant_load": N_("We couldn't load your conversation. Your next message will try again."),
    "chars_left": N_("{count} characters left"),
}


def activity_label(tool: str, arguments: dict[str, Any] | str, locale: str = ENGLISH) -> str:
    """What the customer sees while a tool runs ("Tracking order W1003..."), in their language."""
    args = arguments if isinstance(arguments, dict) else {}
    order = args.get("order_id") if isinstance(args.get("order_id"), (str, int)) else ""
    text = render(ACTIVITY.get(tool, WORKING), {"order_id": str(order or "")}, locale)
    return re.sub(r"\s+", " ", text).strip() + "..."


def labels(table: dict[str, str], locale: str) -> dict[str, str]:
    """A table of labels in `locale`, their {placeholders} left for the surface to fill."""
    translations = SHIPPED.translations(locale)
    return {key: translations.gettext(text) for key, text in table.items()}
