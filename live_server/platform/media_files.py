"""`/media/`: files under the media dir, each served only to whoever may read it.

The platform does not know whose a file is: the feature that does (content, for what
sessions produced) passes an authoriser when the app is composed. A request is served
when it carries a valid signed link for exactly its path (`signed_urls`), or when the
authoriser says the file is public or readable by the signed-in requester. Anything else
answers 404, the same as a file that does not exist: a private show's files are not
there for outsiders.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from enum import Enum
from pathlib import Path

from aiohttp import web

from live_server.platform.errors import NotFound
from live_server.platform.http import principal
from live_server.platform.identity import Principal
from live_server.platform.signed_urls import EXPIRES_PARAM, SIGNATURE_PARAM, UrlSigner

PREFIX = "/media/"
#: Browsers may keep what they were allowed to read; shared caches may not.
PRIVATE_CACHE = "private, max-age=600"


class FileAccess(Enum):
    """What the owner of a media file says about one reader."""

    PUBLIC = "public"  # anyone (shared caches too)
    READER = "reader"  # this signed-in reader only
    DENIED = "denied"  # nobody without a signed link


#: (who, path relative to the media dir, with "/") -> may they read it.
MediaAuthoriser = Callable[[Principal | None, str], Awaitable[FileAccess]]


def _existing_file(root: Path, relative: str) -> Path | None:
    """The file `relative` names inside `root`, or None (missing, a folder, or outside)."""
    if not relative or "\x00" in relative:
        return None
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target


def handler(
    media_dir: Path, signer: UrlSigner, authorise: MediaAuthoriser
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The `/media/{path}` handler over `media_dir`."""
    root = media_dir.resolve()

    async def media_file(request: web.Request) -> web.StreamResponse:
        missing = NotFound("no such file", code="file_not_found")
        path = await asyncio.to_thread(_existing_file, root, request.match_info["path"])
        if path is None:
            raise missing
        relative = path.relative_to(root).as_posix()
        query = request.query
        # checked against the file's own path: a link opens that one file, however written
        canonical = PREFIX + relative
        if signer.verify(canonical, query.get(EXPIRES_PARAM), query.get(SIGNATURE_PARAM)):
            access = FileAccess.READER
        else:
            access = await authorise(principal(request), relative)
        if access is FileAccess.DENIED:
            raise missing
        headers = {} if access is FileAccess.PUBLIC else {"Cache-Control": PRIVATE_CACHE}
        return web.FileResponse(path, headers=headers)

    return media_file


def setup(
    app: web.Application, media_dir: Path, signer: UrlSigner, authorise: MediaAuthoriser
) -> None:
    """Serves `/media/` (GET and HEAD, with byte ranges) through the authoriser."""
    media_dir.mkdir(parents=True, exist_ok=True)
    app.router.add_get(PREFIX + "{path:.+}", handler(media_dir, signer, authorise))
