"""Who may see what a show produced: the shows' visibility rule applied to content.

A private show's clips, replay, recording and their files belong to its host, its
moderators and admins (`LiveSessionService.require_visible`, the one rule). Every content
read goes through here: a hidden session or clip answers 404 like a missing one, lists
leave hidden clips out, and the readers of a private show get signed, expiring links to
its files instead of bare paths (`platform.signed_urls`). The `/media/` handler asks
`file_access` whose a file is.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable
from pathlib import Path

from live_server.content.clips.rules import Clip, Replay
from live_server.content.clips.store import ClipRepository
from live_server.platform.errors import NotFound
from live_server.platform.identity import Principal
from live_server.platform.media_files import FileAccess
from live_server.platform.signed_urls import UrlSigner
from live_server.shows import LiveSession, LiveSessionService, Visibility

MEDIA_PREFIX = "/media/"
#: Folders of the media dir whose files belong to a session: `sessions/<id>/...` (replays,
#: clips, posters) and `recordings/<name>` (its owner is in the recordings table).
SESSIONS_FOLDER = "sessions"
RECORDINGS_FOLDER = "recordings"
_MAX_ID_DIGITS = 18


def _clip_missing() -> NotFound:
    return NotFound("We couldn't find that clip.", code="clip_not_found")


def _same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


class ContentAccess:
    """The visibility rule for clips, replays and media files; links for their readers."""

    def __init__(
        self,
        sessions: LiveSessionService,
        clips: ClipRepository,
        signer: UrlSigner,
        media_root: Path,
        link_ttl_s: float,
    ) -> None:
        self._sessions = sessions
        self._clips = clips
        self._signer = signer
        self._root = media_root
        self._ttl = link_ttl_s

    # -- sessions and clips -----------------------------------------------------------

    async def session(self, who: Principal | None, session_id: int) -> LiveSession:
        """The session if `who` may see it, else 404 "no such session"."""
        return await self._sessions.require_visible(who, session_id)

    async def clip(self, who: Principal | None, clip_id: int) -> Clip:
        """The clip (with links for `who`) if its show is visible to them, else 404 "no
        such clip", the same as for a clip that does not exist."""
        clip = await self._clips.get(clip_id)
        if clip is None:
            raise _clip_missing()
        try:
            session = await self._sessions.require_visible(who, clip.session_id)
        except NotFound:
            raise _clip_missing() from None
        return self.clip_links(session, clip)

    async def readable(self, who: Principal | None, clips: Iterable[Clip]) -> list[Clip]:
        """The clips `who` may see, in order, with their links; the others are left out."""
        listed = list(clips)
        visible = await self._sessions.viewable(who, [c.session_id for c in listed])
        return [
            self.clip_links(visible[c.session_id], c) for c in listed if c.session_id in visible
        ]

    async def readable_ids(self, who: Principal | None, clip_ids: list[int]) -> list[Clip]:
        """`readable` by clip ids, in the order given (deleted or missing ids left out)."""
        found = await self._clips.by_ids(clip_ids)
        return await self.readable(who, (found[i] for i in clip_ids if i in found))

    # -- links ----------------------------------------------------------------------------

    def link(self, session: LiveSession, url: str) -> str:
        """The URL a reader of `session` gets for one of its files: signed when private."""
        if session.visibility is Visibility.PUBLIC or not url.startswith(MEDIA_PREFIX):
            return url
        return self._signer.sign(url, self._ttl)

    def clip_links(self, session: LiveSession, clip: Clip) -> Clip:
        """The clip with the links its reader gets."""
        if session.visibility is Visibility.PUBLIC:
            return clip
        return dataclasses.replace(
            clip,
            video_url=self.link(session, clip.video_url),
            poster_url=self.link(session, clip.poster_url),
        )

    def replay_links(self, session: LiveSession, replay: Replay) -> Replay:
        """The replay with the links its reader gets."""
        if session.visibility is Visibility.PUBLIC:
            return replay
        return dataclasses.replace(
            replay,
            video_url=self.link(session, replay.video_url),
            poster_url=self.link(session, replay.poster_url),
        )

    # -- files (the /media/ handler's authoriser) -------------------------------------

    async def file_access(self, who: Principal | None, relative: str) -> FileAccess:
        """Whether `who` may read the media file at `relative` without a signed link.

        A session's file follows the session's visibility; a file of no session (product
        images, post media) is public; a file under a session folder whose owner cannot
        be told (a recording before its row exists) is nobody's.
        """
        parts = relative.split("/")
        if parts[0] == SESSIONS_FOLDER:
            owner = self._session_folder_id(parts)
        elif parts[0] == RECORDINGS_FOLDER:
            owner = await self._recording_owner(relative)
        else:
            return FileAccess.PUBLIC
        if owner is None:
            return FileAccess.DENIED
        try:
            session = await self._sessions.require_visible(who, owner)
        except NotFound:
            return FileAccess.DENIED
        return FileAccess.PUBLIC if session.visibility is Visibility.PUBLIC else FileAccess.READER

    @staticmethod
    def _session_folder_id(parts: list[str]) -> int | None:
        if len(parts) < 3:
            return None
        raw = parts[1]
        if not (raw.isascii() and raw.isdigit()) or len(raw) > _MAX_ID_DIGITS:
            return None
        return int(raw)

    async def _recording_owner(self, relative: str) -> int | None:
        target = self._root / relative
        for session_id, stored in await self._clips.recordings_named(target.name):
            if await asyncio.to_thread(_same_file, Path(stored), target):
                return session_id
        return None
