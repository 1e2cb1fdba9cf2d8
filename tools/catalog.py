"""Imports every tool module so each registers itself. The order here is the order models see."""

from tools import identity, orders, cancellation  # noqa: F401
