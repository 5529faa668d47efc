"""`ml-connector demo`: the product end to end against local sandboxes (also used by benchmarks and tests)."""
