"""Domain operations with no LLM in them: the store, the policy, and the typed tools that enforce it."""
