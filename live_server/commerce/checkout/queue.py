"""The group-commit checkout queue: every request queued so far goes in one transaction.

Every checkout request is validated and attributed by the service, then queued here. A
single worker takes everything queued so far and hands it to
`OrdersRepository.place_batch`, which decides the whole batch in one BEGIN IMMEDIATE
transaction, first come first served. While a batch is being written the next one fills
up, so under a flash-sale burst the cost per order falls instead of the queue growing;
when it is quiet a batch is one order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final

from live_server.commerce.checkout.outcomes import BatchResult, CheckoutOutcome, PreparedCheckout
from live_server.commerce.live.state import LiveCommerce
from live_server.commerce.stores.orders import OrdersRepository

logger = logging.getLogger(__name__)

MAX_BATCH: Final = 512


class CheckoutQueue:
    """The queue and its one worker (mixed into `CheckoutService`, which sets the fields)."""

    _orders: OrdersRepository
    _live: LiveCommerce
    _clock: Callable[[], float]
    _max_batch: int
    _queue: list[tuple[PreparedCheckout, asyncio.Future[CheckoutOutcome]]]
    _worker: asyncio.Task[None] | None
    batches: int

    async def _submit(self, prepared: PreparedCheckout) -> CheckoutOutcome:
        future: asyncio.Future[CheckoutOutcome] = asyncio.get_running_loop().create_future()
        self._queue.append((prepared, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), name="checkout-batches")
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            try:
                result = await self._orders.place_batch([p for p, _ in batch], self._clock())
            except Exception as exc:
                logger.exception("checkout batch of %d failed", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.batches += 1
            self._after_batch(result)
            for (_, future), outcome in zip(batch, result.outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)

    def _after_batch(self, result: BatchResult) -> None:
        self._live.update_stock(result.stock_after)
        self._live.update_sales(result.sales_after)
