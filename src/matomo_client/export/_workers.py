"""Worker processes that turn Live page bodies into rows (see `encode.py`).

Each worker is `python -c <bootstrap>` with the parent's `sys.path`, talking over its stdin and
stdout: a request is a length-prefixed pickle of the call's small arguments, then the page body;
an answer is a length-prefixed pickle of `PageRows` (or of an error text). Unlike
`multiprocessing` and `anyio.to_process`, nothing re-imports the caller's main script, so an
export started from a script without an `if __name__ == "__main__"` guard works.

Where the system has `memfd_create` (Linux), a page body goes through a memory file the
exporting process shares with the worker (one each) instead of down the pipe: one copy into
memory instead of a write into the pipe and a read out of it, each of which cost more CPU than
the copy (about 0.3 ms against 0.05 ms for a page of 100 visits, 450 KB, measured alone).
Elsewhere the body follows the arguments down the pipe.

A worker ignores Ctrl-C (the export stops it) and exits when its stdin closes, which is also
what happens when the exporting process dies, even by `kill -9`.
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import os
import pickle
import signal
import struct
import sys
from typing import Any

__all__ = ["WorkerError", "WorkerPool", "WorkerStartError", "serve"]

_HEADER = struct.Struct("<QQ")  # lengths of the pickled arguments and of the body / answer
_PIPE_SIZE = 1 << 20
_BOOTSTRAP = "import sys; sys.path[:] = {path!r}; from {module} import serve; serve({fd})"
_IN_PIPE = 1 << 63  # set in a request's body length: the body follows in the pipe
_SHARED_SIZE = 1 << 20  # a memory file's first size; it grows to the largest body sent


class WorkerError(RuntimeError):
    """A worker process failed (it died, or its code raised)."""


class WorkerStartError(WorkerError):
    """No worker process could be started (no interpreter to run, no processes left)."""


def serve(fd: int | None = None) -> None:
    """The worker's loop: read a request, encode the page, write the answer, until EOF.

    `fd`: the memory file the exporting process writes bodies into (None: they come by pipe).
    """
    from .encode import encode_page

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _grow_pipes()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    shared: mmap.mmap | None = None
    while True:
        header = stdin.read(_HEADER.size)
        if len(header) < _HEADER.size:
            # The export waits for its workers to exit: spare this one the interpreter's last
            # garbage collection over all it imported (as the `matomo` command does, cli/app.py).
            gc.freeze()
            return
        n_args, n_body = _HEADER.unpack(header)
        args = pickle.loads(stdin.read(n_args))
        body: bytes | memoryview
        if n_body & _IN_PIPE or fd is None:
            body = stdin.read(n_body & ~_IN_PIPE)
        else:
            if shared is None or len(shared) < n_body:
                # The file grew for a bigger body: map it whole again. The old map closes
                # once nothing decoded from it is left.
                shared = mmap.mmap(fd, os.fstat(fd).st_size, access=mmap.ACCESS_READ)
            body = memoryview(shared)[:n_body]
        try:
            answer: Any = ("ok", encode_page(body, *args))
        except Exception as e:  # a bug, reported to the export rather than lost
            answer = ("error", f"{type(e).__name__}: {e}")
        if isinstance(body, memoryview):
            body.release()  # the answer holds copies: the next body may overwrite this one
        del body
        out = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.write(_HEADER.pack(len(out), 0))
        stdout.write(out)
        stdout.flush()


def _grow_pipes() -> None:
    """1 MB pipes instead of 64 KB (Linux): a page crosses in a few writes, not seventy."""
    try:
        import fcntl

        for fd in (0, 1):
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    except (ImportError, AttributeError, OSError):
        pass  # not Linux, or above /proc/sys/fs/pipe-max-size: the default pipes work too


def _worker_env() -> dict[str, str]:
    """This process's environment without the API token: a worker never talks to Matomo."""
    return {k: v for k, v in os.environ.items() if k != "MATOMO_TOKEN"}


class _SharedBody:
    """A memory file this process writes page bodies into and one worker reads them from."""

    def __init__(self) -> None:
        self.fd = os.memfd_create("matomo-client-page")  # close-on-exec; passed on by number
        try:
            os.ftruncate(self.fd, _SHARED_SIZE)
            self.map = mmap.mmap(self.fd, _SHARED_SIZE)
        except BaseException:
            os.close(self.fd)
            raise

    def put(self, body: bytes) -> None:
        """Write `body` at the start of the file, growing it first if it is too small."""
        if len(body) > len(self.map):
            size = max(len(body), 2 * len(self.map))
            os.ftruncate(self.fd, size)
            self.map.close()
            self.map = mmap.mmap(self.fd, size)
        self.map[: len(body)] = body

    def close(self) -> None:
        """Unmap and close the file (the worker's map keeps it until the worker exits)."""
        self.map.close()
        os.close(self.fd)


def _shared_body() -> _SharedBody | None:
    """A new memory file for a worker's bodies; None where there are none (bodies go by pipe)."""
    if not hasattr(os, "memfd_create"):
        return None
    try:
        return _SharedBody()
    except (OSError, ValueError):  # no memory files allowed (a sandbox), or no memory left
        return None


class _Worker:
    def __init__(self, process: Any, shared: _SharedBody | None = None) -> None:
        from anyio.streams.buffered import BufferedByteReceiveStream

        self.process = process
        self.stdin = process.stdin
        self.stdout = BufferedByteReceiveStream(process.stdout)
        self.shared = shared
        self.used = False

    async def call(self, args: tuple[Any, ...], body: bytes) -> Any:
        self.used = True
        pickled = pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL)
        if self.shared is not None:
            self.shared.put(body)
            await self.stdin.send(_HEADER.pack(len(pickled), len(body)) + pickled)
        else:
            await self.stdin.send(_HEADER.pack(len(pickled), len(body) | _IN_PIPE) + pickled)
            await self.stdin.send(body)
        n, _ = _HEADER.unpack(await self.stdout.receive_exactly(_HEADER.size))
        status, value = pickle.loads(await self.stdout.receive_exactly(n))
        if status != "ok":
            raise WorkerError(f"a page encoder process failed: {value}")
        return value


class WorkerPool:
    """Up to `size` worker processes, started when first needed, stopped by `aclose`."""

    def __init__(self, size: int) -> None:
        import anyio

        self.size = size
        self._limiter = anyio.CapacityLimiter(size)
        self._idle: list[_Worker] = []
        self._all: list[_Worker] = []

    async def _start(self) -> _Worker:
        import subprocess  # here, not at the top: a worker process does not need it

        import anyio

        if not sys.executable or getattr(sys, "frozen", False):
            # A frozen application (PyInstaller, py2exe): its executable would run the
            # application itself, which may start an export of its own.
            raise WorkerStartError("cannot start a page encoder process: no Python to run")
        shared = _shared_body()
        fd = None if shared is None else shared.fd
        code = _BOOTSTRAP.format(path=list(sys.path), module=__name__, fd=fd)
        try:
            process = await anyio.open_process(
                [sys.executable, "-c", code],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=_worker_env(),
                pass_fds=() if fd is None else (fd,),
            )
        except (OSError, NotImplementedError) as e:
            if shared is not None:
                shared.close()
            if isinstance(e, OSError):
                raise WorkerStartError(f"cannot start a page encoder process: {e}") from None
            # asyncio's SelectorEventLoop on Windows (Jupyter, psycopg)
            raise WorkerStartError(
                "cannot start a page encoder process: this event loop runs no subprocesses"
            ) from None
        worker = _Worker(process, shared)
        self._all.append(worker)
        return worker

    async def start(self) -> None:
        """Start every worker now, so that they import while the first pages are fetched."""
        while len(self._all) < self.size:
            self._idle.append(await self._start())

    async def run(self, args: tuple[Any, ...], body: bytes) -> Any:
        """`encode_page(body, *args)` in a worker process."""
        async with self._limiter:
            worker = self._idle.pop() if self._idle else await self._start()
            try:
                value = await worker.call(args, body)
            except BaseException as e:
                # Cancelled or broken mid-call: its pipes are out of step, so it goes.
                await self._discard(worker)
                if isinstance(e, Exception) and not isinstance(e, WorkerError):
                    code = worker.process.returncode
                    raise WorkerError(
                        f"a page encoder process stopped (exit code {code}): {e!r}"
                    ) from None
                raise
            self._idle.append(worker)
            return value

    async def _discard(self, worker: _Worker) -> None:
        import anyio

        if worker in self._all:
            self._all.remove(worker)
        with anyio.CancelScope(shield=True):
            if worker.process.returncode is None:
                worker.process.kill()
            await worker.process.aclose()
        if worker.shared is not None:
            worker.shared.close()
            worker.shared = None

    async def aclose(self) -> None:
        """Stop every worker: close its stdin (it exits), kill it if it does not within 5 s.

        A worker that never had a page is killed at once: it may still be importing.
        """
        import anyio

        with anyio.CancelScope(shield=True):
            for worker in self._all:
                if not worker.used and worker.process.returncode is None:
                    worker.process.kill()
                with contextlib.suppress(OSError, anyio.BrokenResourceError):
                    await worker.stdin.aclose()
            for worker in list(self._all):
                with anyio.move_on_after(5):
                    await worker.process.wait()
                await self._discard(worker)
        self._idle.clear()
