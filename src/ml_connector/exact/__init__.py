"""Exact Online: API client (OAuth, tokens, OData, paging, rate governor, webhooks) and its sandbox."""
