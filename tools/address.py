"""A postal address as tools take it from the model (order shipping address, account address), and the
one check every tool that writes an address makes: is it complete for its country?

How a change treats the fields the customer did not give: the new address is complete as given. A
unit (address_line2) or an optional state left out means the new address has none, and the
confirmation names the old value that goes away; `country` (and an order's recipient name) left out
keep the current one, and the confirmation shows it. A required field left out is never filled in
from the old address: the write is refused with the missing fields named (rule `address.complete`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, Field

from tools.i18n import N_, NP_, Listing, Msg, msg
from tools.policy import CountryAddressRules, Policy
from tools.results import ToolResult, denied
from tools.values import FreeText

COMPLETE_RULE = "address.complete"
# How a field is named to the customer unless the country's rules name it otherwise (`labels`, words
# of the store's policy, said as they are written there).
# i18n: an address field, as in "The new address is missing the {fields}."
LABELS = {"address_line1": N_("street and number"), "address_line2": N_("apartment or unit"), "city": N_("city"),
          "state": N_("state or region"), "zip_code": N_("postal code")}


class Address(BaseModel):
    # left out, the write is refused by the country's rule naming it (after the order's own rules)
    address_line1: FreeText(200, min_length=1) | None = Field(default=None, description="Street and number.")
    address_line2: FreeText(200) | None = Field(default=None, description="Apartment, suite, etc.")
    # city and zip code may be left out: the write is then refused by the country's rule naming them
    city: FreeText(100, min_length=1) | None = Field(default=None, description="City.")
    state: FreeText(50) | None = Field(default=None, description="State or region, e.g. CA.")
    zip_code: FreeText(12, min_length=3, pattern=r"^[A-Za-z0-9][A-Za-z0-9 \-]*$") | None = Field(
        default=None, description="Zip or postal code.")
    country: FreeText(60) | None = Field(default=None, description="Country; leave empty to keep the current one.")


@dataclass(frozen=True)
class PostalAddress:
    """A complete address as it is written to the store (country as its code)."""

    line1: str
    line2: str | None
    city: str
    state: str | None
    zip: str
    country: str

    def one_line(self, name: str | None = None) -> str:
        return format_address(name, self.line1, self.line2, self.city, self.state, self.zip, self.country)


def format_address(name: str | None, line1: str | None, line2: str | None, city: str | None,
                   state: str | None, zip_code: str | None, country: str | None) -> str:
    """'Jane Doe, 5 Elm St, Apt 2, Oakland, CA 94601, US': every part that is set, in label order."""
    region = " ".join(x for x in (state, zip_code) if x)
    return ", ".join(x for x in (name, line1, line2, city, region, country) if x)


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def country_rules(policy: Policy, country: str | None) -> tuple[str, CountryAddressRules] | None:
    """The country's code and rules, found by its code or any of its names (case and dots ignored)."""
    wanted = _key(country or "")
    for code, rules in policy.address.complete.items():
        if wanted and wanted in {_key(code), *(_key(n) for n in rules.names)}:
            return code, rules
    return None


def label(field: str, rules: CountryAddressRules | None = None) -> Msg | str:
    """A field as the customer reads it: the country's own word from the policy, else the catalog's."""
    if rules is not None and field in rules.labels:
        return rules.labels[field]
    return msg(LABELS[field]) if field in LABELS else field


def complete_address(policy: Policy, given: Address, *, current_country: str | None) -> PostalAddress | ToolResult:
    """The address to write, or the denial (`address.complete`) naming what is missing or malformed."""
    asked = given.country or current_country
    found = country_rules(policy, asked)
    if found is None:
        countries = list(policy.address.complete)
        return denied(COMPLETE_RULE, msg(N_("I can only take addresses in {countries} here, not {country}."),
                                         countries=Listing(items=countries, style="or"),
                                         country=asked or msg(N_("an address without a country"))),
                      facts={"country": asked, "countries": countries},
                      alternatives=[msg(N_("ask for a human agent"))])
    code, rules = found
    values = {"address_line1": given.address_line1, "address_line2": given.address_line2 or None,
              "city": given.city, "state": given.state or None, "zip_code": given.zip_code}
    missing = [f for f in rules.required if not values[f]]
    malformed = bool(values["zip_code"] and rules.postal_code
                     and not re.fullmatch(rules.postal_code, values["zip_code"]))
    if missing or malformed:
        needed = Listing(items=[label(f, rules) for f in rules.required], style="and")
        problems = []
        if missing:
            problems.append(msg(N_("The new address is missing the {fields}."),
                                fields=Listing(items=[label(f, rules) for f in missing], style="and")))
        if malformed:
            wrong = {"zip_code": values["zip_code"], "label": label("zip_code", rules), "country": code}
            problems.append(msg(N_("{zip_code} is not a valid {label} in {country} ({format})."),
                                format=rules.postal_code_format, **wrong) if rules.postal_code_format
                            else msg(N_("{zip_code} is not a valid {label} in {country}."), **wrong))
        facts: dict = {"country": code, "missing": missing}
        if malformed:
            facts["invalid"] = {"zip_code": values["zip_code"]}
        return denied(COMPLETE_RULE, msg(N_("{problems} Please give the complete address: {fields}."),
                                         problems=Listing(items=problems, style="sentences"), fields=needed),
                      facts=facts, alternatives=[msg(N_("give the complete address: {fields}"), fields=needed)])
    return PostalAddress(line1=values["address_line1"], line2=values["address_line2"], city=values["city"],
                         state=values["state"], zip=values["zip_code"], country=code)


def removed_parts(old: dict[str, str | None], new: dict[str, str | None]) -> list[Msg]:
    """"The apartment or unit (Apt 4) is removed." for the parts the old address had and the new one
    has not (none: an empty list), a sentence for a confirmation's notes, so that it never blanks a
    field silently."""
    gone = [msg(N_("{field} ({value})"), field=label(k), value=old[k]) for k in new if old.get(k) and not new[k]]
    if not gone:
        return []
    return [msg(NP_("The {parts} is removed.", "The {parts} are removed."), count=len(gone),
                parts=Listing(items=gone, style="and"))]
