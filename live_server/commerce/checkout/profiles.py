"""Checkout profiles: the saved address, payment method and social-proof opt-in.

One-tap buy uses the saved profile; a request may override the address or the method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from live_server.commerce.cart.store import CartsRepository
from live_server.commerce.checkout.results import invalid
from live_server.commerce.payments.service import PaymentsService
from live_server.commerce.rules.basics import Address, CommerceInputError, parse_address
from live_server.platform.errors import Invalid
from live_server.platform.identity import Principal


class CheckoutProfiles:
    """Saved profiles and their cache (mixed into `CheckoutService`, which sets the fields)."""

    _carts: CartsRepository
    _payments: PaymentsService
    _clock: Callable[[], float]
    _cache_profiles: bool
    _profiles: dict[int, tuple[Address, str, bool]]

    async def _checkout_details(
        self, who: Principal, data: dict[str, Any]
    ) -> tuple[Address, str, bool]:
        saved = await self.profile_of(who.user_id)
        try:
            address = parse_address(data["address"]) if data.get("address") is not None else None
        except CommerceInputError as exc:
            raise invalid(exc) from None
        method = data.get("payment_method")
        if method is not None and not isinstance(method, str):
            raise Invalid("Choose a payment method from the list.", code="invalid_payment_method")
        if saved is not None:
            address = address or saved[0]
            method = method or saved[1]
        if address is None or not method:
            raise Invalid(
                "Add a shipping address and a payment method first.",
                code="checkout_profile_required",
            )
        show = bool(saved[2]) if saved is not None else False
        return address, method, show

    async def profile_of(self, user_id: int) -> tuple[Address, str, bool] | None:
        """The saved checkout profile (cached on a single node, where we are its only writer)."""
        cached = self._profiles.get(user_id)
        if cached is not None:
            return cached
        found = await self._carts.get_profile(user_id)
        if found is not None and self._cache_profiles:
            if len(self._profiles) > 50_000:
                self._profiles.clear()
            self._profiles[user_id] = found
        return found

    async def save_profile(self, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
        """Save address, payment method and the social-proof opt-in for one-tap buy."""
        try:
            address = parse_address(data.get("address"))
        except CommerceInputError as exc:
            raise invalid(exc) from None
        method = data.get("payment_method")
        if not isinstance(method, str) or self._payments.provider_for(method) is None:
            choices = ", ".join(m["method"] for m in self._payments.methods())
            raise Invalid(f"Choose a payment method: {choices}.", code="invalid_payment_method")
        show = data.get("show_first_name", False)
        if not isinstance(show, bool):
            raise Invalid("Showing your first name is a yes or no.", code="invalid_show_first_name")
        await self._carts.save_profile(who.user_id, address, method, show, self._clock())
        if self._cache_profiles:
            self._profiles[who.user_id] = (address, method, show)
        return self.profile_json(address, method, show)

    async def profile(self, who: Principal) -> dict[str, Any]:
        """The saved profile (nulls when nothing is saved) and the methods on offer."""
        saved = await self.profile_of(who.user_id)
        if saved is None:
            return {
                "address": None,
                "payment_method": None,
                "show_first_name": False,
                "payment_methods": self._payments.methods(),
            }
        return self.profile_json(*saved)

    def profile_json(self, address: Address, method: str, show: bool) -> dict[str, Any]:
        """The API form of a checkout profile."""
        return {
            "address": address.as_dict(),
            "payment_method": method,
            "show_first_name": show,
            "payment_methods": self._payments.methods(),
        }
