"""One customer turn: understand (one model step) -> process (code) -> reply (composed)."""
