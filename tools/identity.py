"""verify_customer: the only way a session gets a customer."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.context import ToolContext
from tools.registry import read_tool
from tools.results import N_, NP_, ToolResult, denied, msg, ok
from tools.values import FreeText, OrderId

LOCK_RULE = "identity.max_failed_attempts"


class VerifyCustomerArgs(BaseModel):
    email: FreeText(254) = Field(description="The customer's email address.")
    zip_code: FreeText(12) | None = Field(default=None, description="Zip code of the account's address.")
    order_id: OrderId | None = Field(default=None, description="An order id such as W1001, instead of the zip code.")


@read_tool(requires_identity=False)
def verify_customer(ctx: ToolContext, args: VerifyCustomerArgs) -> ToolResult:
    """Verify who the customer is, with their email plus zip code, or email plus one of their order ids. Required before any account or order information is shared."""
    policy = ctx.policy.identity
    if ctx.verification_locked:
        return denied(LOCK_RULE, msg(N_("Verification is locked for this conversation after too many failed "
                                        "attempts. A human agent can help.")),
                      facts={"failed_attempts": ctx.failed_verifications},
                      alternatives=[msg(N_("ask for a human agent"))])
    if ctx.customer_id is not None:
        current = ctx.store.customer(ctx.customer_id)
        if current and current.email.lower() != args.email.strip().lower():
            return denied("identity.one_customer_per_conversation",
                          msg(N_("This conversation is already verified for another customer; start a new "
                                 "conversation to help someone else.")))
    if not args.zip_code and not args.order_id:
        return denied("identity.methods", msg(N_("To verify I need the email together with the zip code "
                                                 "or an order id.")),
                      alternatives=[msg(N_("give the zip code")), msg(N_("give an order id"))])
    email = args.email.strip().lower()
    customer = ctx.store.customer_by_email(email)
    matched = False
    if customer is not None:
        if args.zip_code and "email_zip" in policy.methods:
            matched = customer.zip.strip() == args.zip_code.strip()
        elif args.order_id and "order_email" in policy.methods:
            matched = ctx.store.customer_order(customer.id, args.order_id) is not None
    if not matched:
        ctx.failed_verifications += 1
        left = policy.max_failed_attempts - ctx.failed_verifications
        if left <= 0:
            return denied(LOCK_RULE, msg(N_("Those details do not match our records. Verification is now "
                                            "locked for this conversation; a human agent can help.")),
                          facts={"failed_attempts": ctx.failed_verifications},
                          alternatives=[msg(N_("ask for a human agent"))])
        return denied("identity.methods", msg(NP_("Those details do not match our records. {count} attempt left.",
                                                  "Those details do not match our records. {count} attempts left."),
                                              count=left),
                      facts={"attempts_left": left})
    ctx.customer_id = customer.id
    ctx.failed_verifications = 0
    # No internal customer id in the result: a small model copies it into order-id arguments.
    return ok(msg(N_("Verified: {name}."), name=customer.name), name=customer.name,
              email=customer.email)
