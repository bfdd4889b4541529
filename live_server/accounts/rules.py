"""Users, roles and interests."""

from __future__ import annotations

import re
from dataclasses import dataclass

from live_server.platform.errors import Invalid
from live_server.platform.identity import Role

INTERESTS: tuple[str, ...] = (
    "fashion",
    "beauty",
    "home",
    "kitchen",
    "tech",
    "pets",
    "fitness",
    "toys",
    "outdoors",
    "books",
    "jewelry",
    "gaming",
    "baby",
    "art",
    "food",
    "travel",
)
MIN_INTERESTS = 5

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$")
MIN_PASSWORD_LEN = 4
MAX_PASSWORD_LEN = 256
MAX_DISPLAY_NAME_LEN = 60


@dataclass(frozen=True)
class User:
    """A stored account (never carries the password hash outside storage)."""

    id: int
    username: str
    display_name: str
    role: Role
    interests: tuple[str, ...] = ()
    created_at: float = 0.0

    @property
    def first_name(self) -> str:
        """The first word of the display name, the most a buyer shares publicly."""
        parts = self.display_name.split()
        return parts[0] if parts else self.username


def validate_username(username: object) -> str:
    """Returns the username or raises Invalid with a message a person can act on."""
    if not isinstance(username, str) or not USERNAME_RE.match(username):
        raise Invalid(
            "Usernames are 3 to 32 letters, numbers, dots, dashes or underscores, "
            "starting with a letter or number.",
            code="invalid_username",
        )
    return username


def validate_password(password: object) -> str:
    """Checks length bounds (the upper bound keeps the KDF's input sane)."""
    if not isinstance(password, str) or not MIN_PASSWORD_LEN <= len(password) <= MAX_PASSWORD_LEN:
        raise Invalid(
            f"Passwords are {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters.",
            code="invalid_password",
        )
    return password


def validate_display_name(name: object, fallback: str) -> str:
    """Trims the display name; empty means the username."""
    if name is None:
        return fallback
    if not isinstance(name, str):
        raise Invalid("Your name must be text.", code="invalid_display_name")
    name = " ".join(name.split())
    if len(name) > MAX_DISPLAY_NAME_LEN:
        raise Invalid(
            f"Your name can be at most {MAX_DISPLAY_NAME_LEN} characters.",
            code="invalid_display_name",
        )
    return name or fallback


def validate_interests(interests: object) -> tuple[str, ...]:
    """At least MIN_INTERESTS distinct categories from INTERESTS, order kept."""
    if not isinstance(interests, list) or not all(isinstance(i, str) for i in interests):
        raise Invalid("Pick interests from the list.", code="invalid_interests")
    unknown = [i for i in interests if i not in INTERESTS]
    if unknown:
        raise Invalid(
            f"Unknown interests: {', '.join(sorted(set(unknown)))}. Pick from the list: "
            + ", ".join(INTERESTS)
            + ".",
            code="invalid_interests",
        )
    picked = tuple(dict.fromkeys(interests))
    if len(picked) < MIN_INTERESTS:
        raise Invalid(
            f"Pick at least {MIN_INTERESTS} interests (you picked {len(picked)}).",
            code="not_enough_interests",
            field="interests",
        )
    return picked
