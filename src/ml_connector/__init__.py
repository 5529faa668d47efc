"""ml-connector: e-commerce stores to Exact Online."""

__version__ = "0.1.0"
