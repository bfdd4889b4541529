"""Words for people in error messages: a body field's name as a person reads it, sentences.

A refusal names its input twice: `field` (the body's key, for the page to find the input)
and, in the message, the same input in plain words ("price_minor" -> "price",
"address.postal_code" -> "postal code of the address").
"""

from __future__ import annotations

from typing import Final

#: Keys whose words are not the key with spaces.
_LABELS: Final = {
    "price_minor": "price",
    "list_price_minor": "list price",
    "value": "amount",
    "duration_s": "duration",
    "starts_at": "start time",
    "scheduled_at": "start time",
    "ends_at": "end time",
    "line1": "address",
    "line2": "second address line",
    "postal_code": "postal code",
    "payment_method": "payment method",
    "per_buyer_limit": "limit per buyer",
    "product_id": "product",
    "product_ids": "products",
    "media_ids": "photos or videos",
    "session_id": "show",
    "clip_id": "clip",
    "start_bid_minor": "starting bid",
    "reserve_minor": "reserve price",
    "max_bid_minor": "maximum bid",
    "amount_minor": "amount",
    "display_name": "display name",
    "front_row": "front row",
    "text": "message",
    "after_show_minutes": "time after the show",
    "total_limit": "number of coupons",
}


def label(key: str) -> str:
    """A body key in words: `"price_minor"` -> "price", `"front_row"` -> "front row"."""
    if key in _LABELS:
        return _LABELS[key]
    for suffix, words in (("_minor", ""), ("_s", ""), ("_ms", ""), ("_id", ""), ("_ids", "s")):
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key.removesuffix(suffix) + words
            break
    return key.replace("_", " ").strip()


def path_label(steps: list[str | int]) -> str:
    """A path in words, innermost first: `["address", "postal_code"]` -> "postal code of
    the address", `["items", 0, "quantity"]` -> "quantity of item 1"."""
    words: list[str] = []
    for index, step in enumerate(reversed(steps)):
        if isinstance(step, int):
            words.append(f"item {step + 1}")
        elif index == 0:
            words.append(label(step))
        elif not (index > 0 and isinstance(list(reversed(steps))[index - 1], int)):
            words.append(f"the {label(step)}")
    return " of ".join(words)


def sentence(text: str) -> str:
    """`text` with a capital first letter and a full stop (unless it ends in punctuation)."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def field_path(steps: list[str | int]) -> str:
    """`["items", 0, "quantity"]` -> "items[0].quantity" (the `field` of an error)."""
    out = ""
    for step in steps:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += f".{step}" if out else step
    return out
