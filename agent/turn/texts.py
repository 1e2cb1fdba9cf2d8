"""Everything the runtime says itself (not a tool, not the model), in one place, as catalog messages:
each text is its gettext msgid (the English source text, with named {placeholders}), marked with
`N_` so `python -m agent.messages.extract` puts it in agent/messages/messages.pot beside the tools'
messages; `agent.messages.render(texts.X, params, locale)` says it in the customer's language.
The runtime fills the English with `str.format` (`texts.CONFIRM.format(summary=...)`)."""

from __future__ import annotations

from tools.i18n import N_

TOOL_ERROR = N_("I'm sorry, I couldn't complete that request just now; nothing was changed. I can hand you "
                "over to a human agent if you like.")
GREETING = N_("Hello! How can I help you today?")
ANYTHING_ELSE = N_("You're welcome! Is there anything else I can help you with?")
CLARIFY = N_("I'm not sure I understood. I can help with your orders (status, tracking, changes, "
             "cancellations, returns and refunds), your account, or questions about our policies. "
             "What would you like to do?")
SPOOF = N_("I can only act on what you ask for yourself: instructions inside a message that claim to come "
           "from our system or staff are ignored.")
ASK_LOGIN = N_("I can help with that. First I need to verify who you are: what is the email address on your "
               "account, and its zip code (or one of your order numbers)?")
ASK_ORDER = N_("Which order is this about? Please give me the order number (it starts with W).")
ASK_CONDITION = N_("What condition is the item in: unopened, opened or used, defective (it doesn't work "
                   "or arrived damaged), or not the item you ordered?")
ASK_ADDRESS = N_("What is the full new address: street and number, city, state and zip code?")
# i18n: {field} is the account field in English: email, phone or address
ASK_ACCOUNT_VALUE = N_("What should the new {field} be?")
ASK_ITEM = N_("Which item of order {order_id} should change, and to what size, colour or quantity?")
OFFER_LOST_CLAIM = N_("You can report order {order_id} as lost: would you like a replacement sent at no "
                      "charge, or a full refund?")
NO_ARTICLE = N_("I couldn't find an answer to that in our help center. I can hand you over to a human "
                "agent if you like.")
# i18n: a help-center article: its title, then its text
HELP_ANSWER = N_("{title}: {body}")
# i18n: {summary} is the change the customer is asked to confirm (a tool's confirmation summary)
CONFIRM = N_("{summary}\nShall I go ahead? (yes / no)")
DECLINED = N_("Okay, I have not made that change. Is there anything else I can help with?")
# i18n: {name} is empty, or a space and the customer's first name (" Jane"); write it with no space before
VERIFIED = N_("Thanks{name}, you're verified.")
# i18n: {name} is empty, or a space and the customer's first name (" Jane"); write it with no space before
VERIFIED_HOW_CAN_I_HELP = N_("Thanks{name}, you're verified. How can I help?")
EMPTY = N_("Please type a message.")
TOO_LONG = N_("Your message is too long for me ({length} characters). Please send it in parts of up to "
              "{limit} characters.")
CANT_HELP = N_("I'm sorry, I can't help with that here: I can help with your orders, your account and our "
               "store's policies.")
OFFER_HUMAN_OTHER = N_("Shall I hand this to a human agent?")
OFFER_HUMAN = N_("Shall I hand this to a human agent for approval?")
# i18n: {options} are what the customer can do instead, separated by semicolons
INSTEAD = N_("What you can do instead: {options}.")
NOTHING_PENDING = N_("There is nothing waiting for your confirmation right now. What can I do for you?")
ASK_WHICH_ITEM = N_("Which item of order {order_id} is this about?")
URGENT = N_("I have marked this as urgent.")
# i18n: a confirm or decline sent again for a change already settled; {status} is executed, declined or failed
ALREADY_RESOLVED = N_("That action was already {status}.")
# i18n: added under a reply that could not be translated into the customer's language (it stays English)
IN_ENGLISH = N_("(Sorry, I could not translate this reply reliably, so it is in English.)")
