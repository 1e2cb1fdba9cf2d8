"""A postal address as tools take it from the model (order shipping address, account address)."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator


class Address(BaseModel):
    address_line1: str = Field(min_length=1, max_length=200, description="Street and number.")
    address_line2: str | None = Field(default=None, max_length=200, description="Apartment, suite, etc.")
    city: str = Field(min_length=1, max_length=100, description="City.")
    state: str | None = Field(default=None, max_length=50, description="State or region, e.g. CA.")
    zip_code: str = Field(min_length=3, max_length=12, pattern=r"^[A-Za-z0-9][A-Za-z0-9 \-]*$",
                          description="Zip or postal code.")
    country: str | None = Field(default=None, max_length=60, description="Country; leave empty to keep the current one.")

    @field_validator("address_line1", "address_line2", "city", "state", "zip_code", "country", mode="before")
    @classmethod
    def _strip(cls, v: object) -> object:
        return v.strip() if isinstance(v, str) else v

    def one_line(self) -> str:
        return ", ".join(x for x in (self.address_line1, self.address_line2, self.city, self.state,
                                     self.zip_code, self.country) if x)
