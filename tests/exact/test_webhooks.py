"""Webhook verification: validation ping, HashCode over the raw Content bytes, dedup keys."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from ml_connector.exact.webhooks import verify_webhook
from ml_connector.store.models import Connection
from ml_connector.webhooks import Reply, Verified, WebhookRejected

SECRET = "webhook-secret-value"
# Real notification from exact-samples/webhook_notification.json, with the division of the test connection.
CONTENT = (
    b'{"Topic":"SalesOrders","ClientId":"63824703-cf5c-4143-be7d-db3113b83b0e","Division":123456,'
    b'"Action":"Update","Key":"19cee073-095e-46d1-8d2d-f3fc97ba5bc1","ExactOnlineEndpoint":'
    b"\"https:\\/\\/start.exactonline.be\\/api\\/v1\\/123456\\/salesorder\\/SalesOrders(guid'19cee073-095e-46d1-8d2d-"
    b'f3fc97ba5bc1\')","EventCreatedOn":"2020-01-06T16:26:08.587"}'
)


def signed(content: bytes, secret: str = SECRET) -> bytes:
    digest = hmac.new(secret.encode(), content, hashlib.sha256).hexdigest().upper()
    return b'{"Content":' + content + b',"HashCode":"' + digest.encode() + b'"}'


@pytest.fixture
def conn(app, conn_id) -> Connection:
    with app.db.session() as session:
        found = session.get(Connection, conn_id)
        assert isinstance(found, Connection)
        return found


def test_empty_post_is_the_validation_ping(app, conn):
    assert verify_webhook(app, conn, b"", {}) == Reply(status=200)


def test_valid_hashcode_gives_an_event_key(app, conn):
    verified = verify_webhook(app, conn, signed(CONTENT), {"content-type": "application/json"})
    assert isinstance(verified, Verified)
    assert verified.topic == "SalesOrders" and verified.resource_id == "19cee073-095e-46d1-8d2d-f3fc97ba5bc1"
    assert verified.dedup_key.startswith("SalesOrders:19cee073-095e-46d1-8d2d-f3fc97ba5bc1:Update:")
    # The same event delivered again collapses; a later event on the same record does not.
    assert verify_webhook(app, conn, signed(CONTENT), {}) == verified
    later = CONTENT.replace(b"16:26:08.587", b"16:30:00.000")
    assert verify_webhook(app, conn, signed(later), {}).dedup_key != verified.dedup_key  # type: ignore[union-attr]


def test_signature_is_over_the_raw_bytes_not_a_reserialisation(app, conn):
    spaced = CONTENT.replace(b'","', b'", "')  # not what json.dumps would produce
    assert isinstance(verify_webhook(app, conn, signed(spaced), {}), Verified)


@pytest.mark.parametrize(
    "body",
    [
        signed(CONTENT, "another-secret"),
        signed(CONTENT).replace(b'"Action":"Update"', b'"Action":"Delete"'),
        signed(CONTENT).lower(),  # lowercase hex is not Exact's format (and the content changed)
    ],
)
def test_bad_signatures_are_rejected(app, conn, body):
    with pytest.raises(WebhookRejected) as caught:
        verify_webhook(app, conn, body, {})
    assert caught.value.status in (400, 401)


def test_malformed_body_is_rejected_with_400(app, conn):
    with pytest.raises(WebhookRejected) as caught:
        verify_webhook(app, conn, b'{"hello": 1}', {})
    assert caught.value.status == 400


def test_a_notification_for_another_division_is_rejected(app, conn):
    with pytest.raises(WebhookRejected, match="division 999"):
        verify_webhook(app, conn, signed(CONTENT.replace(b'"Division":123456', b'"Division":999')), {})
