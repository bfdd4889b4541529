"""After the show: queue, run and recover processing jobs (replay + one clip per pin).

A finished recording (``RecordingFinished`` on the event bus) queues a job. One
background loop per process claims queued jobs and runs the PyAV work in the media
worker's thread; progress goes to the job row and to the host over Socket.IO. Jobs
left 'running' by a process that died are queued again at start-up, and each attempt
writes into its own folder so a half-written file from a killed attempt is never used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from live_server.content.access import ContentAccess
from live_server.content.clips.rules import Clip, ProcessingJob, Replay
from live_server.content.clips.store import ClipRepository, NewClip
from live_server.content.feed.service import FeedService
from live_server.content.posts.rules import TargetKind, id_list
from live_server.content.processing.store import JobRepository
from live_server.platform.errors import Conflict, Forbidden, Invalid, NotFound
from live_server.platform.events import EventBus, RecordingFinished
from live_server.platform.identity import Principal
from live_server.shows.service import LiveSessionService
from recordings.clips import cut
from recordings.jobs import ClipOutput, ProcessingOutput, ProcessingPlan
from recordings.probe import MediaError, probe
from recordings.thumbnails import make_poster
from recordings.windows import snap_start, validate_manual_window
from recordings.worker import MediaWorker

logger = logging.getLogger(__name__)

Notify = Callable[[int, str, dict[str, Any]], Awaitable[None]]
ProgressHook = Callable[[ProcessingJob, float, str], Awaitable[None] | None]
POLL_INTERVAL_S = 2.0


@dataclass(frozen=True, slots=True)
class MediaUrls:
    """Maps files under the media dir to their public /media URLs."""

    root: Path
    prefix: str = "/media"

    def url(self, path: str | Path) -> str:
        """The public URL of a file under the media root."""
        rel = Path(path).resolve().relative_to(self.root.resolve())
        return f"{self.prefix}/{rel.as_posix()}"

    def path(self, url: str) -> Path:
        """The file behind a public URL (inside the root)."""
        rel = url.removeprefix(self.prefix + "/")
        target = (self.root / rel).resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise NotFound("no such media")
        return target


class ProcessingService:
    """Processing jobs: queue, run in the background or from the CLI, re-run, hand cuts."""

    def __init__(
        self,
        jobs: JobRepository,
        clips: ClipRepository,
        sessions: LiveSessionService,
        feed: FeedService,
        worker: MediaWorker,
        urls: MediaUrls,
        access: ContentAccess,
        events: EventBus | None = None,
        notify: Notify | None = None,
        cut_worker: MediaWorker | None = None,
    ) -> None:
        self._access = access
        self._jobs = jobs
        self._clips = clips
        self._sessions = sessions
        self._feed = feed
        self._worker = worker
        # hand cuts: a pool of their own, so a moderator's clip never queues behind a replay
        self._cut_worker = cut_worker or worker
        self._urls = urls
        self._notify = notify
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        if events is not None:
            events.subscribe(RecordingFinished, self.on_recording_finished)

    # -- queueing -------------------------------------------------------------------------

    async def on_recording_finished(self, event: RecordingFinished) -> None:
        """Queue a job for a freshly finalised recording."""
        job = await self._jobs.enqueue(event.session_id, event.recording_id, None)
        logger.info(
            "session %d: job %d queued for recording %d",
            event.session_id,
            job.id,
            event.recording_id,
        )
        self._wake.set()

    async def enqueue_session(self, session_id: int, requested_by: int | None) -> ProcessingJob:
        """Queue a job for the session's latest finished recording."""
        rec = await self._clips.latest_recording(session_id)
        if rec is None:
            raise NotFound("this session has no finished recording", code="no_recording")
        job = await self._jobs.enqueue(session_id, rec.id, requested_by)
        self._wake.set()
        return job

    async def rerun(self, who: Principal, session_id: int) -> ProcessingJob:
        """Admins (and the session's host) re-run processing of a session."""
        session = await self._access.session(who, session_id)
        if not who.is_admin and session.host_id != who.user_id:
            raise Forbidden("only admins and the host can re-run processing", code="not_allowed")
        return await self.enqueue_session(session_id, who.user_id)

    async def jobs_for(self, who: Principal, session_id: int) -> list[ProcessingJob]:
        """A session's jobs, for its host, moderators and admins."""
        await self._access.session(who, session_id)  # 404 for a private show's outsiders
        if not await self._sessions.can_moderate(who, session_id):
            raise Forbidden(
                "only the host, moderators and admins see processing", code="not_allowed"
            )
        return await self._jobs.for_session(session_id)

    async def job(self, job_id: int) -> ProcessingJob:
        """One job."""
        job = await self._jobs.get(job_id)
        if job is None:
            raise NotFound("no such job", code="job_not_found")
        return job

    # -- running --------------------------------------------------------------------------

    async def run_next(
        self, session_id: int | None = None, on_progress: ProgressHook | None = None
    ) -> ProcessingJob | None:
        """Claim one queued job and run it to the end; returns its final state."""
        job = await self._jobs.claim_next(session_id)
        if job is None:
            return None
        await self._execute(job, on_progress)
        return await self._jobs.get(job.id)

    async def _execute(self, job: ProcessingJob, on_progress: ProgressHook | None) -> None:
        try:
            host_id = (await self._sessions.get(job.session_id)).host_id
        except NotFound:
            await self._jobs.fail(job.id, "the session no longer exists")
            return
        # A folder of its own per attempt (a killed attempt's half-written files are never
        # used), under a random name: the replay and clips of a private show must not be
        # found by guessing (job ids and attempts are). The session folder says whose it is.
        out_dir = self._urls.root / "sessions" / str(job.session_id) / secrets.token_urlsafe(18)

        async def progress(fraction: float, step: str) -> None:
            await self._jobs.set_progress(job.id, fraction, step)
            await self._emit(host_id, job, fraction, "running", step)
            if on_progress is not None:
                result = on_progress(job, fraction, step)
                if asyncio.iscoroutine(result):
                    await result

        try:
            rec = await self._clips.recording(job.recording_id)
            if rec is None:
                raise MediaError(f"recording {job.recording_id} not found")
            pins = await self._clips.pins(job.session_id)
            plan = ProcessingPlan(rec.path, str(out_dir), pins=tuple(pins))
            await self._emit(host_id, job, 0.0, "running", "starting")
            output = await self._worker.run(plan, progress)
            await self._store(job, host_id, output)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning(
                "session %d: job %d attempt %d failed: %s",
                job.session_id,
                job.id,
                job.attempts,
                exc,
            )
            failed = await self._jobs.fail(job.id, f"{type(exc).__name__}: {exc}")
            state = failed.state.value if failed else "failed"
            await self._emit(host_id, job, 0.0, state, str(exc)[:200])
            await asyncio.to_thread(shutil.rmtree, out_dir, True)
            self._wake.set()
            return
        await self._jobs.finish(job.id)
        await self._emit(host_id, job, 1.0, "done", "done")
        logger.info("session %d: job %d done (%d clips)", job.session_id, job.id, len(output.clips))

    async def _store(self, job: ProcessingJob, host_id: int, output: ProcessingOutput) -> None:
        if output.replay is not None:
            r = output.replay
            replay = Replay(
                job.session_id, self._urls.url(r.video.path), self._urls.url(r.poster.path),
                r.video.duration_s, r.video.width, r.video.height, time.time(),
            )  # fmt: skip
            await self._clips.save_replay(
                job.session_id, job.recording_id, job.id, replay, r.video.transcoded
            )
        new = [self._new_clip(c) for c in output.clips]
        ids, removed = await self._clips.replace_auto_clips(
            job.session_id, job.recording_id, job.id, host_id, new
        )
        await self._feed.remove(TargetKind.CLIP, removed)
        for clip in (await self._clips.by_ids(ids)).values():
            await self._feed.add_clip(clip)

    def _new_clip(self, c: ClipOutput) -> NewClip:
        return NewClip(
            start_s=c.video.start_s,
            end_s=c.video.start_s + c.video.duration_s,
            duration_s=c.video.duration_s,
            video_url=self._urls.url(c.video.path),
            poster_url=self._urls.url(c.poster.path),
            width=c.video.width,
            height=c.video.height,
            transcoded=c.video.transcoded,
            product_ids=c.window.product_ids,
        )

    async def _emit(
        self, host_id: int, job: ProcessingJob, percent: float, state: str, step: str
    ) -> None:
        if self._notify is None:
            return
        payload = {
            "session_id": job.session_id,
            "job_id": job.id,
            "percent": round(percent * 100, 1),
            "state": state,
            "step": step,
        }
        try:
            await self._notify(host_id, "processing", payload)
        except Exception:
            logger.exception("session %d: processing progress could not be sent", job.session_id)

    # -- hand-cut clips -------------------------------------------------------------------

    async def cut_manual(self, who: Principal, session_id: int, data: dict[str, Any]) -> Clip:
        """A moderator cuts a clip from the replay: ``{start, end, product_ids}``."""
        session = await self._access.session(who, session_id)
        if not await self._sessions.can_moderate(who, session_id):
            raise Forbidden("only the host, moderators and admins cut clips", code="not_allowed")
        replay = await self._clips.replay(session_id)
        if replay is None:
            raise Conflict("the replay is not ready yet", code="replay_not_ready")
        start, end = data.get("start"), data.get("end")
        if not isinstance(start, int | float) or not isinstance(end, int | float):
            raise Invalid("start and end must be numbers of seconds", code="invalid_window")
        if isinstance(start, bool) or isinstance(end, bool):
            raise Invalid("start and end must be numbers of seconds", code="invalid_window")
        try:
            window = validate_manual_window(float(start), float(end), replay.duration_s)
        except ValueError as exc:
            raise Invalid(str(exc), code="invalid_window") from exc
        product_ids = id_list(data.get("product_ids", []), "product_ids", minimum=1, maximum=10)
        allowed = set(await self._sessions.product_ids(session_id))
        if not set(product_ids) <= allowed:
            raise Invalid("tag products of this session only", code="invalid_product_ids")
        src = self._urls.path(replay.video_url)
        out_dir = self._urls.root / "sessions" / str(session_id) / "manual"
        name = f"cut-{secrets.token_urlsafe(18)}"  # not guessable from the window or cutter

        def work() -> tuple[Any, Any]:
            out_dir.mkdir(parents=True, exist_ok=True)
            info = probe(src)
            start_at = (
                snap_start(window.start, window.start + 1.0, info.keyframes)
                if info.copies_video
                else window.start
            )
            video = cut(info, out_dir / f"{name}.mp4", start_at, window.end)
            poster = make_poster(
                out_dir / f"{name}.mp4", out_dir / f"{name}.jpg", min(1.0, video.duration_s / 2)
            )
            return video, poster

        video, poster = await self._cut_worker.call(work)
        clip_id = await self._clips.add_clip(
            session_id,
            None,
            session.host_id,
            NewClip(
                video.start_s, video.start_s + video.duration_s, video.duration_s,
                self._urls.url(video.path), self._urls.url(poster.path), video.width, video.height,
                video.transcoded, tuple(product_ids), str(data.get("title") or "")[:120],
            ),
            who.user_id,
            "manual",
        )  # fmt: skip
        clip = await self._clips.get(clip_id)
        assert clip is not None
        await self._feed.add_clip(clip)
        logger.info("session %d: manual clip %d cut by user %d", session_id, clip_id, who.user_id)
        return self._access.clip_links(session, clip)

    # -- reading --------------------------------------------------------------------------

    async def clips_of(self, who: Principal | None, session_id: int) -> list[Clip]:
        """A session's clips, for whoever may see the session (with their links)."""
        session = await self._access.session(who, session_id)
        clips = await self._clips.for_session(session_id)
        return [self._access.clip_links(session, c) for c in clips]

    async def delete_clip(self, who: Principal, clip_id: int) -> None:
        """The host or an admin removes a clip (it leaves the feed at once)."""
        clip = await self._access.clip(who, clip_id)
        if clip.host_id != who.user_id and not who.is_admin:
            raise Forbidden("only the host or an admin can delete this clip", code="not_owner")
        await self._clips.delete_clip(clip_id)
        await self._feed.remove(TargetKind.CLIP, [clip_id])

    # -- lifetime -------------------------------------------------------------------------

    async def recover(self) -> int:
        """Queue again the jobs a dead process left running."""
        count = await self._jobs.requeue_interrupted()
        if count:
            logger.warning("requeued %d interrupted processing job(s)", count)
        return count

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                while not self._stopping and await self.run_next() is not None:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("processing loop error")
            if self._stopping:
                break
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_INTERVAL_S)

    async def start(self) -> None:
        """Recover interrupted jobs and start the background loop."""
        await self.recover()
        self._stopping = False
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self, grace_s: float = 2.0) -> None:
        """Stop the loop between database calls; a job still running after ``grace_s`` is
        abandoned (its row stays 'running' and is retried at the next start-up)."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        done, _ = await asyncio.wait({self._task}, timeout=grace_s)
        if not done:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
