"""Exact Online's regional sites. OAuth and REST share the host; a token works only on its own site."""

from __future__ import annotations

REGION_HOSTS: dict[str, str] = {
    "NL": "https://start.exactonline.nl",
    "BE": "https://start.exactonline.be",
    "UK": "https://start.exactonline.co.uk",
    "DE": "https://start.exactonline.de",
    "FR": "https://start.exactonline.fr",
    "ES": "https://start.exactonline.es",
    "US": "https://start.exactonline.com",
}

AUTHORIZE_PATH = "/api/oauth2/auth"
TOKEN_PATH = "/api/oauth2/token"
API_PATH = "/api/v1"


def base_url_for(region: str | None, base_url: str | None = None) -> str:
    """The site of a connection: an explicit base URL (sandbox, proxy) wins over the region."""
    if base_url:
        return base_url.rstrip("/")
    if region is None:
        raise ValueError(
            "the Exact connection has neither a region nor a base URL; "
            f"set a region ({', '.join(REGION_HOSTS)}) or an explicit base URL"
        )
    try:
        return REGION_HOSTS[region.upper()]
    except KeyError:
        raise ValueError(
            f"unknown Exact region '{region}'; use one of {', '.join(REGION_HOSTS)} or an explicit base URL"
        ) from None
