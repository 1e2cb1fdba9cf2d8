"""Imports every tool module so each registers itself. The order here is the order models see."""

from tools import (
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
from tools.registry import TOOLS

MODULES = [identity, orders, shipping, lost_package, cancellation, modification, returns, refunds, tickets,
           account, help_center]

# A module imported before this one (say tools.help_center by the demo-store builder) registered its
# tools early; put every tool back in the order above, keeping each module's own order.
_rank = {m.__name__: i for i, m in enumerate(MODULES)}
_ordered = sorted(TOOLS.values(), key=lambda t: _rank.get(t.fn.__module__, len(MODULES)))
TOOLS.clear()
TOOLS.update((t.name, t) for t in _ordered)
