"""Who is asking: the global roles and the authenticated principal every feature checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """A user's global role. Moderators are assigned per session, not globally."""

    VIEWER = "viewer"
    HOST = "host"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """Who is making a request: the authenticated user's id, name and global role."""

    user_id: int
    username: str
    role: Role
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def can_host(self) -> bool:
        return self.role in (Role.HOST, Role.ADMIN)
