"""JSON shapes of the core resources (what the web client and outside clients read)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from live_server.domain.accounts import User
from live_server.domain.catalog import Product
from live_server.services.live_sessions import SessionView


def iso(ts: float | None) -> str | None:
    """Epoch seconds -> ISO 8601 UTC with a Z."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def user_json(user: User, *, private: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
    }
    if private:
        data["interests"] = list(user.interests)
        data["created_at"] = iso(user.created_at)
    return data


def product_json(product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "owner_id": product.owner_id,
        "title": product.title,
        "description": product.description,
        "price_minor": product.price_minor,
        "currency": product.currency,
        "category": product.category,
        "stock": product.stock,
        "per_buyer_limit": product.per_buyer_limit,
        "images": list(product.images),
        "created_at": iso(product.created_at),
    }


def session_json(view: SessionView) -> dict[str, Any]:
    s = view.session
    return {
        "id": s.id,
        "title": s.title,
        "description": s.description,
        "starts_at": iso(s.starts_at),
        "cover_url": s.cover_url,
        "state": s.state.value,
        "visibility": s.visibility.value,
        "host": user_json(view.host),
        "products": [product_json(p) for p in view.products],
        "moderators": [user_json(m) for m in view.moderators],
        "went_live_at": iso(s.went_live_at),
        "ended_at": iso(s.ended_at),
    }
