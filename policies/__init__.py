"""The store's policy documents, shipped as package data. `tools.policy` parses them."""

from pathlib import Path

POLICY_DIR = Path(__file__).parent
DEFAULT_POLICY = POLICY_DIR / "store_policy.md"
HELP_CENTER = POLICY_DIR / "help_center.md"
