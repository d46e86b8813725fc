"""Alert rules, classification, collection and limit policy, the output store (pure but the store)."""
