"""Imports every tool module so each registers itself. The order here is the order models see."""

from tools import (  # noqa: F401
    identity,
    orders,
    shipping,
    lost_package,
    cancellation,
    modification,
    returns,
    refunds,
    tickets,
    account,
    help_center,
)
