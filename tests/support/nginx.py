"""Debian's nginx in front of a server under test, with the shipped deploy/nginx/liveshop.conf.

``start_nginx(upstream_port, workdir)`` writes a minimal ``nginx.conf`` into ``workdir``
(pid, error and access logs, temp paths, the cache: all inside it) that includes the shipped
site file with exactly three values replaced: the upstream ``127.0.0.1:8080`` by the server
under test, ``listen 80`` by a free 127.0.0.1 port, ``/var/cache/nginx/liveshop`` by a folder
of ``workdir``. Each replacement is checked, so a shipped file that drifts from those values
fails loudly instead of testing something else.

nginx cannot bind port 0, so a free port is picked and, if another process takes it before
nginx binds it, nginx is started again on another one. nginx runs in the foreground (``daemon
off``) in a process group of its own, as the current user: ``stop()`` asks it to quit and
``kill()`` (also called by ``stop()`` when quitting takes too long) ends the whole group,
workers included.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from support.helpers import REPO_ROOT, free_port

NGINX = "/usr/sbin/nginx"
SHIPPED_CONF = REPO_ROOT / "deploy" / "nginx" / "liveshop.conf"

# The values of the shipped file that a test run replaces (and nothing else).
SHIPPED_UPSTREAM = "server 127.0.0.1:8080;"
SHIPPED_LISTEN = "listen 80;"
SHIPPED_CACHE = "proxy_cache_path /var/cache/nginx/liveshop "

BIND_ATTEMPTS = 5


class NginxError(RuntimeError):
    """nginx would not start (its error log is in the message)."""


def site_config(
    upstream_port: int, listen_port: int, cache_dir: Path, shipped: Path = SHIPPED_CONF
) -> str:
    """The shipped site file with its upstream, listen port and cache folder replaced.

    Raises ``NginxError`` if any of the shipped values is not found exactly once.
    """
    text = shipped.read_text()
    replacements = {
        SHIPPED_UPSTREAM: f"server 127.0.0.1:{upstream_port};",
        SHIPPED_LISTEN: f"listen 127.0.0.1:{listen_port};",
        SHIPPED_CACHE: f"proxy_cache_path {cache_dir} ",
    }
    for old, new in replacements.items():
        count = text.count(old)
        if count != 1:
            raise NginxError(
                f"{shipped} should contain {old!r} exactly once (found {count} times); "
                "the tests derive their config from it by replacing that value"
            )
        text = text.replace(old, new)
    return text


def main_config(
    workdir: Path,
    site: Path,
    worker_processes: int,
    worker_connections: int,
    access_log: bool = True,
) -> str:
    """A whole nginx.conf around the site file, everything nginx writes kept in ``workdir``."""
    user = ""
    if os.geteuid() == 0:
        # as root, nginx would switch its workers to "nobody", who cannot use workdir
        name = pwd.getpwuid(os.geteuid()).pw_name
        user = f"user {name};\n"
    temp = workdir / "temp"
    return (
        f"{user}"
        f"worker_processes {worker_processes};\n"
        f"worker_rlimit_nofile {worker_connections * 2 + 64};\n"
        f"error_log {workdir / 'error.log'} info;\n"
        f"events {{ worker_connections {worker_connections}; }}\n"
        "http {\n"
        "    sendfile on;\n"
        "    tcp_nopush on;\n"
        "    default_type application/octet-stream;\n"
        f"    access_log {workdir / 'access.log' if access_log else 'off'};\n"
        f"    client_body_temp_path {temp / 'body'};\n"
        f"    proxy_temp_path {temp / 'proxy'};\n"
        f"    fastcgi_temp_path {temp / 'fastcgi'};\n"
        f"    uwsgi_temp_path {temp / 'uwsgi'};\n"
        f"    scgi_temp_path {temp / 'scgi'};\n"
        f"    include {site};\n"
        "}\n"
    )


@dataclass
class Nginx:
    """A running nginx: its master process, port and files."""

    process: subprocess.Popen[bytes]
    port: int
    workdir: Path

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def cache_dir(self) -> Path:
        """Where the /hls/ cache lives."""
        return self.workdir / "cache"

    def error_log(self) -> str:
        """nginx's error log so far."""
        return _read(self.workdir / "error.log")

    def access_log(self) -> str:
        """nginx's access log so far."""
        return _read(self.workdir / "access.log")

    def pids(self) -> list[int]:
        """The master's and its workers' process ids (for CPU accounting)."""
        import psutil

        try:
            master = psutil.Process(self.process.pid)
            return [master.pid, *(c.pid for c in master.children())]
        except psutil.NoSuchProcess:
            return []

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful quit (SIGQUIT); the whole process group is killed if that takes longer."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)  # else killed below
        self.kill()

    def kill(self) -> None:
        """SIGKILL to nginx's process group (master, workers, cache manager), then reap."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)


def start_nginx(
    upstream_port: int,
    workdir: Path,
    *,
    worker_processes: int = 1,
    worker_connections: int = 4096,
    access_log: bool = True,
    timeout: float = 10.0,
) -> Nginx:
    """Start nginx in front of ``127.0.0.1:<upstream_port>``; returns once it accepts.

    ``workdir`` (created if needed) gets nginx.conf, the site file, logs, temp and cache;
    ``access_log=False`` leaves out the access log (a benchmark's thousands of requests/s).
    Raises ``NginxError`` with nginx's error log if it does not come up.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    for sub in ("temp", "cache"):
        (workdir / sub).mkdir(exist_ok=True)
    last_log = ""
    for _ in range(BIND_ATTEMPTS):
        port = free_port()
        site = workdir / "liveshop.conf"
        site.write_text(site_config(upstream_port, port, workdir / "cache"))
        conf = workdir / "nginx.conf"
        conf.write_text(
            main_config(workdir, site, worker_processes, worker_connections, access_log)
        )
        (workdir / "error.log").write_text("")
        pid_file = workdir / "nginx.pid"
        pid_file.unlink(missing_ok=True)
        with open(workdir / "stderr.log", "wb") as err:  # the child keeps its own copy
            process = subprocess.Popen(
                [
                    NGINX,
                    "-p",
                    str(workdir),
                    "-c",
                    str(conf),
                    "-e",
                    str(workdir / "error.log"),
                    "-g",
                    f"daemon off; master_process on; pid {pid_file};",
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,  # its own process group: kill() reaches the workers
            )
        nginx = Nginx(process, port, workdir)
        try:
            if _wait_ready(nginx, pid_file, timeout):
                return nginx
        except BaseException:
            nginx.kill()
            raise
        nginx.kill()
        last_log = nginx.error_log() + _read(workdir / "stderr.log")
        if "Address already in use" not in last_log:
            raise NginxError(f"nginx did not start (exit code {process.returncode}):\n{last_log}")
    raise NginxError(f"nginx found no free port in {BIND_ATTEMPTS} attempts:\n{last_log}")


def _wait_ready(nginx: Nginx, pid_file: Path, timeout: float) -> bool:
    """True once nginx has bound its port (it writes the pid file after binding) and
    accepts a connection; False if it exited (a lost port race, or a broken config)."""
    deadline = time.monotonic() + timeout
    while True:
        if nginx.process.poll() is not None:
            return False
        if _read(pid_file).strip() == str(nginx.process.pid) and _accepts(nginx.port):
            return True
        if time.monotonic() > deadline:
            raise NginxError(f"nginx not listening after {timeout} s:\n{nginx.error_log()}")
        time.sleep(0.02)  # polling interval, bounded by the deadline above


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


@contextlib.contextmanager
def running_nginx(
    upstream_port: int, workdir: Path, *, worker_processes: int = 1, worker_connections: int = 4096
) -> Iterator[Nginx]:
    """``start_nginx`` as a context manager: stopped (and its group killed) on the way out."""
    nginx = start_nginx(
        upstream_port,
        workdir,
        worker_processes=worker_processes,
        worker_connections=worker_connections,
    )
    try:
        yield nginx
    finally:
        nginx.stop()
