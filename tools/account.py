"""The customer's account: update_account (email, phone, default address) and send_password_reset."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from tools.address import Address, complete_address, format_address, removed_parts
from tools.backend.interface import CommerceTransaction
from tools.backend.records import Customer
from tools.context import ToolContext
from tools.i18n import Listing
from tools.registry import read_tool, write_tool
from tools.results import N_, Plan, ToolResult, denied, error, msg, ok
from tools.values import FreeText, iso
from tools.words import ACCOUNT_FIELD, word

EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
RESET_RULE = "account.password_reset_to_email_on_file"


def mask_email(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}"


def clean_phone(raw: str) -> str | None:
    """A phone number as digits with an optional leading +; None if it cannot be one (7-15 digits)."""
    text = raw.strip()
    if not re.fullmatch(r"\+?[\d\s().\-]+", text):
        return None
    digits = re.sub(r"\D", "", text)
    if not 7 <= len(digits) <= 15:
        return None
    return ("+" if text.startswith("+") else "") + digits


class UpdateAccountArgs(BaseModel):
    field: Literal["email", "phone", "address"] = Field(description="What to change.")
    email: FreeText(254) | None = Field(default=None, description="The new email, when field is email.")
    phone: FreeText(30) | None = Field(default=None, description="The new phone number, when field is phone.")
    address: Address | None = Field(default=None, description="The new default address, when field is address.")


@write_tool()
def update_account(ctx: ToolContext, args: UpdateAccountArgs) -> Plan | ToolResult:
    """Change the verified customer's email, phone number or default address. The customer must confirm."""
    if args.field not in ctx.policy.account.updatable_fields:
        return denied("account.updatable_fields", msg(N_("The {field} cannot be changed in chat."),
                                                      field=word(ACCOUNT_FIELD, args.field)),
                      facts={"field": args.field, "updatable": ctx.policy.account.updatable_fields},
                      alternatives=[msg(N_("ask for a human agent"))])
    customer = ctx.store.customer(ctx.customer_id)
    if customer is None:
        return error("The verified customer's account could not be found.")
    if args.field == "email":
        if not args.email:
            return error("Give the new email address in `email`.")
        email = args.email.strip().lower()
        if not EMAIL.match(email):
            return error(msg(N_("'{email}' is not a valid email address."), email=args.email))
        if email == customer.email.lower():
            return error(msg(N_("{email} already is the email on this account; nothing to change."), email=email))
        taken = ctx.store.customer_by_email(email)
        if taken is not None and taken.id != customer.id:
            # Say no without saying why in a way that confirms another account exists.
            return denied("account.email_unique", msg(N_("That email address cannot be used for this account.")),
                          facts={"field": "email"}, alternatives=[msg(N_("use another email address"))])
        changes = {"email": email}
        what, notes = msg(N_("email from {old} to {new}"), old=customer.email, new=email), []
    elif args.field == "phone":
        phone = clean_phone(args.phone or "")
        if phone is None:
            return error(msg(N_("Give a valid phone number (7-15 digits).")), note="Put it in `phone`.")
        changes = {"phone": phone}
        what = msg(N_("phone from {old} to {new}"), old=customer.phone or msg(N_("none")), new=phone)
        notes = []
    else:
        if args.address is None:
            return error("Give the new address in `address` (address_line1, city, state, zip_code, ...).")
        address = complete_address(ctx.policy, args.address, current_country=customer.country)
        if isinstance(address, ToolResult):
            return address
        changes = {"address_line1": address.line1, "address_line2": address.line2, "city": address.city,
                   "state": address.state, "zip": address.zip, "country": address.country}
        if all(changes[k] == getattr(customer, k) for k in changes):
            return error(msg(N_("{address} already is the account's address; nothing to change."),
                             address=address.one_line()))
        old = format_address(None, customer.address_line1, customer.address_line2, customer.city,
                             customer.state, customer.zip, customer.country)
        what = msg(N_("default address from {old} to {new}"), old=old or msg(N_("none")), new=address.one_line())
        notes = removed_parts({"address_line2": customer.address_line2, "state": customer.state},
                              {"address_line2": address.line2, "state": address.state})
    if args.field == "address" and changes["zip"] != customer.zip:
        notes.append(msg(N_("The zip code used to verify identity becomes {zip_code}."), zip_code=changes["zip"]))
    # i18n: {notes} is empty or one or more sentences (a removed apartment or state, the new zip code)
    summary = msg(N_("Change the account's {change}. {notes}"), change=what,
                  notes=Listing(items=notes, style="sentences"))

    def apply(tx: CommerceTransaction) -> dict:
        tx.update_customer(customer.id, changes)
        return {"updated": args.field}

    return Plan(summary=summary, apply=apply, done=msg(N_("Done: the account's {change}."), change=what),
                data={"field": args.field, **{k: v for k, v in changes.items() if v is not None}})


class SendPasswordResetArgs(BaseModel):
    email: FreeText(254) | None = Field(default=None,
                                        description="The account's email, only needed when the customer is not verified. The link always goes to the email on file.")


# Immediate, and allowed before verification: the link only ever goes to the inbox already on file, so
# sending it cannot hand the account to anyone else (the usual "forgot password" flow). Before
# verification the answer is the same whether or not the email is known, so it reveals no accounts.
@read_tool(requires_identity=False)
def send_password_reset(ctx: ToolContext, args: SendPasswordResetArgs) -> ToolResult:
    """Send a password reset link to the email on file for the account (never to any other address). Works before verification with the account's email."""
    if ctx.customer_id is not None:
        customer = ctx.store.customer(ctx.customer_id)
        if customer is None:
            return error("The verified customer's account could not be found.")
        if args.email and args.email.strip().lower() != customer.email.lower():
            return denied(RESET_RULE, msg(N_("A password reset link can only go to the email on file ({email})."),
                                          email=mask_email(customer.email)),
                          facts={"email_on_file": mask_email(customer.email)},
                          alternatives=[msg(N_("send it to the email on file")),
                                        msg(N_("update the account's email first, then send the link"))])
        _record_reset(ctx, customer)
        return ok(msg(N_("A password reset link was sent to {email}; it may take a few minutes to arrive."),
                      email=mask_email(customer.email)), sent_to=mask_email(customer.email))
    if not args.email or not EMAIL.match(args.email.strip()):
        return error(msg(N_("Give the email address of the account to send the reset link to.")))
    email = args.email.strip().lower()
    customer = ctx.store.customer_by_email(email)
    if customer is not None:
        _record_reset(ctx, customer)
    return ok(msg(N_("If {email} is the email of an account, a password reset link has been sent to it."),
                  email=email))


def _record_reset(ctx: ToolContext, customer: Customer) -> None:
    with ctx.store.transaction(customer.id) as tx:
        tx.record_password_reset(customer.id, customer.email, iso(ctx.now()))
