"""A postal address as tools take it from the model (order shipping address, account address)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.values import FreeText


class Address(BaseModel):
    address_line1: FreeText(200, min_length=1) = Field(description="Street and number.")
    address_line2: FreeText(200) | None = Field(default=None, description="Apartment, suite, etc.")
    city: FreeText(100, min_length=1) = Field(description="City.")
    state: FreeText(50) | None = Field(default=None, description="State or region, e.g. CA.")
    zip_code: FreeText(12, min_length=3, pattern=r"^[A-Za-z0-9][A-Za-z0-9 \-]*$") = Field(
        description="Zip or postal code.")
    country: FreeText(60) | None = Field(default=None, description="Country; leave empty to keep the current one.")

    def one_line(self) -> str:
        return ", ".join(x for x in (self.address_line1, self.address_line2, self.city, self.state,
                                     self.zip_code, self.country) if x)
