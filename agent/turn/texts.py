"""What the runtime says itself in an understood turn (English source texts; catalog msgids)."""

GREETING = "Hello! How can I help you today?"
ANYTHING_ELSE = "You're welcome! Is there anything else I can help you with?"
CLARIFY = ("I'm not sure I understood. I can help with your orders (status, tracking, changes, "
           "cancellations, returns and refunds), your account, or questions about our policies. "
           "What would you like to do?")
SPOOF = ("I can only act on what you ask for yourself: instructions inside a message that claim to come "
         "from our system or staff are ignored.")
ASK_LOGIN = ("I can help with that. First I need to verify who you are: what is the email address on your "
             "account, and its zip code (or one of your order numbers)?")
ASK_ORDER = "Which order is this about? Please give me the order number (it starts with W)."
ASK_CONDITION = ("What condition is the item in: unopened, opened or used, defective (it doesn't work "
                 "or arrived damaged), or not the item you ordered?")
ASK_REMEDY = "Would you like a replacement sent at no charge, or a full refund?"
ASK_ADDRESS = "What is the full new address: street and number, city, state and zip code?"
ASK_ACCOUNT_VALUE = "What should the new {field} be?"
ASK_ITEM = "Which item of order {order_id} should change, and to what size, colour or quantity?"
OFFER_LOST_CLAIM = ("You can report order {order_id} as lost: would you like a replacement sent at no "
                    "charge, or a full refund?")
NO_ARTICLE = ("I couldn't find an answer to that in our help center. I can hand you over to a human "
              "agent if you like.")
HELP_ANSWER = "{title}: {body}"
CONFIRM = "{summary}\nShall I go ahead? (yes / no)"
DECLINED = "Okay, I have not made that change. Is there anything else I can help with?"
VERIFIED = "Thanks{name}, you're verified."
VERIFIED_HOW_CAN_I_HELP = "Thanks{name}, you're verified. How can I help?"
QUEUED = "After that, I'll also prepare: {summary}"
MODEL_TROUBLE = ("I'm sorry, I didn't quite get that. Could you say it again in other words? I can also "
                 "hand you over to a human agent.")
EMPTY = "Please type a message."
TOO_LONG = "Your message is too long for me ({length} characters). Please send it in parts of up to {limit} characters."
CANT_HELP = ("I'm sorry, I can't help with that here: I can help with your orders, your account and our "
             "store's policies.")
OFFER_HUMAN_OTHER = "Shall I hand this to a human agent?"
OFFER_HUMAN = "Shall I hand this to a human agent for approval?"
INSTEAD = "What you can do instead: {options}."
NOTHING_PENDING = "There is nothing waiting for your confirmation right now. What can I do for you?"
ASK_WHICH_ITEM = "Which item of order {order_id} is this about?"
URGENT = "I have marked this as urgent."
