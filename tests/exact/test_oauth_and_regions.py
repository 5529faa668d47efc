"""Regional hosts, the authorize URL, and reading the code from what the user pastes."""

from __future__ import annotations

import httpx
import pytest

from ml_connector.exact.authorize import AuthorizationError, code_from_redirect
from ml_connector.exact.oauth import OAuthClient, TokenEndpointError
from ml_connector.exact.regions import base_url_for
from ml_connector.secrets import secret


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("NL", "https://start.exactonline.nl"),
        ("uk", "https://start.exactonline.co.uk"),
        ("US", "https://start.exactonline.com"),
        ("BE", "https://start.exactonline.be"),
    ],
)
def test_regions(region, host):
    assert base_url_for(region) == host


def test_explicit_base_url_wins_and_unknown_region_is_explained():
    assert base_url_for("NL", "http://127.0.0.1:9000/") == "http://127.0.0.1:9000"
    with pytest.raises(ValueError, match="use one of NL, BE, UK, DE, FR, ES, US"):
        base_url_for("XX")


def test_authorize_url_carries_state_and_redirect():
    oauth = OAuthClient(
        httpx.Client(), "https://start.exactonline.de", "cid", secret("cs-value"), "https://a/cb"
    )
    url = httpx.URL(oauth.authorize_url("st4te"))
    assert url.path == "/api/oauth2/auth"
    assert dict(url.params) == {
        "client_id": "cid",
        "redirect_uri": "https://a/cb",
        "response_type": "code",
        "state": "st4te",
    }


def test_code_from_a_redirect_url_or_a_bare_code():
    assert code_from_redirect("https://a/cb?code=ab%21c&state=s1", "s1") == "ab!c"
    assert code_from_redirect("  stAMP!IE-code  ", "s1") == "stAMP!IE-code"
    with pytest.raises(AuthorizationError, match="state does not match"):
        code_from_redirect("https://a/cb?code=x&state=other", "s1")
    with pytest.raises(AuthorizationError, match="access_denied"):
        code_from_redirect("https://a/cb?error=access_denied&state=s1", "s1")


@pytest.mark.parametrize(
    ("status", "body", "reason", "too_early", "dead"),
    [
        (
            400,
            {"error": "access_denied", "error_description": "Rate limit exceeded: access_token not expired"},
            None,
            True,
            False,
        ),
        (
            401,
            {"error": "unauthorized_client", "error_description": "Access token not expired"},
            "TooEarlyToRefreshTokens: Access token not expired",
            True,
            False,
        ),
        (
            401,
            {"error": "unauthorized_client", "error_description": "Old refresh token used."},
            None,
            False,
            True,
        ),
        (400, {"error": "invalid_grant", "error_description": "Token is not allowed"}, None, False, True),
    ],
)
def test_token_errors_are_classified(status, body, reason, too_early, dead):
    error = TokenEndpointError(status, body["error"], body["error_description"], reason, None)
    assert (error.too_early, error.chain_dead) == (too_early, dead)
