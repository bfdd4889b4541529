"""Payment provider webhooks: HMAC-signed, refused with 401 (and logged) otherwise."""

from __future__ import annotations

from aiohttp import web

from live_server.commerce.keys import PAYMENTS
from live_server.commerce.payments.service import (
    MAX_WEBHOOK_BYTES,
    SIGNATURE_HEADER,
    WebhookRejected,
)
from live_server.platform.errors import BadRequest, NotFound, Unauthorized
from live_server.platform.http import json_response, read_bytes
from live_server.platform.openapi import document, op


async def payment_webhook(request: web.Request) -> web.Response:
    provider = request.match_info["provider"]
    body = await read_bytes(request, MAX_WEBHOOK_BYTES)
    payments = request.app[PAYMENTS]
    try:
        result = await payments.handle_webhook(
            provider, request.headers.get(payments.signature_header(provider)), body
        )
    except WebhookRejected:
        raise Unauthorized(
            "webhook signature missing, invalid or stale", code="bad_signature"
        ) from None
    except LookupError:
        raise NotFound("no such payment provider", code="provider_not_found") from None
    except ValueError as exc:
        raise BadRequest(str(exc), code="invalid_event") from None
    return json_response(result)


async def payment_methods(request: web.Request) -> web.Response:
    return json_response({"items": request.app[PAYMENTS].methods()})


def setup(app: web.Application) -> None:
    """Routes and their OpenAPI entries."""
    app.router.add_post("/api/payments/webhook/{provider}", payment_webhook)
    app.router.add_get("/api/payments/methods", payment_methods)
    document(
        app,
        {
            "/api/payments/webhook/{provider}": {
                "POST": op(
                    "Asynchronous payment confirmation from a provider. Header "
                    f"{SIGNATURE_HEADER}: t=<unix time>,v1=<hex HMAC-SHA256 of 't.body'>; "
                    "body {id, type: payment.succeeded|payment.failed|payment.authorized,"
                    " order_id}. Provider `stripe`: Stripe's own events, signed in"
                    " Stripe-Signature (checked with the Stripe SDK)",
                    tag="payments",
                    auth="webhookSignature",
                    body={"type": "object"},
                    errors=(400, 401, 404, 413),
                )
            },
            "/api/payments/methods": {"GET": op("Payment methods on offer", tag="payments")},
        },
    )
