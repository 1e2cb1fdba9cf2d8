"""Words the runtime says itself (not the model, not a tool), as catalog messages: the msgid is the
English text; `agent.messages.render(ID, params, locale)` gives it in the customer's language.
agent/replies.py and agent/provenance.py say these."""

from __future__ import annotations

from tools.i18n import N_

CONFIRMATION_QUESTION = N_("{summary}\nShall I go ahead? (yes / no)")
DECLINED = N_("Okay, I have not made that change. Is there anything else I can help with?")
VERIFIED = N_("Thanks {name}, you're verified. How can I help?")
VERIFIED_NO_NAME = N_("Thanks, you're verified. How can I help?")
MODEL_FAILURE = N_("I'm sorry, I'm having a technical problem and can't answer properly right now. "
                   "Nothing you already did is lost. I can hand you over to a human agent, or you can "
                   "try again in a moment.")
REPEATED_FAILURE = N_("I'm sorry, I couldn't complete that request: the same step failed twice. "
                      "I can hand you over to a human agent if you like.")
EMPTY_MESSAGE = N_("Please type a message.")
GREETING = N_("Hello! How can I help you today?")
ASK_LOGIN = N_("I can help with that. First I need to verify who you are: what is the email address on your "
               "account, and its zip code (or one of your order numbers)?")
NO_ANSWER = N_("I'm sorry, I don't have that information. If you give me an order number I can look it "
               "up, or I can hand you over to a human agent.")
FOUND = N_("Here is what I found: {found}")

# What the runtime asks for when a tool call names a value the customer never gave (agent/provenance.py).
QUESTIONS = {
    "order_id": N_("Which order is this about? Please give me the order number (it starts with W, "
                   "for example in your confirmation email)."),
    "email": N_("What is the email address on your account?"),
    "zip_code": N_("What is the zip code of your account's address?"),
    "address_line1": N_("What is the full address: street and number, city, state and zip code?"),
    "city": N_("What is the full address: street and number, city, state and zip code?"),
    "phone": N_("What phone number should I use?"),
}
CONDITION_QUESTION = N_("What condition is the item in: unopened, opened or used, defective (it doesn't work "
                        "or arrived damaged), or not the item you ordered?")
