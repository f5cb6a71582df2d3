"""Tools that read a user's file run in a box: limits set before the tool starts, and what it
prints read with a cap.

A hostile file can make a tool allocate gigabytes, spin, or print (or write) text without end
(nested form XObjects that draw one line millions of times). Every run of poppler, Tesseract
or our own checks goes through `run` or `start`, which exec the tool under `prlimit`
(util-linux): its address space, CPU seconds, the size of any file it writes and its open
files are capped in the kernel, so the tool fails alone and the worker lives on. `prlimit`
sets the limits on itself and then execs the tool (one process, the same pid): no
`preexec_fn`, which is unsafe in a worker that runs threads.

A tool stopped by its CPU or file-size limit, or whose output passed the cap, raises
`ToolLimitExceeded`: a permanent error (the same file would do it again), never retried. A
tool killed otherwise (SIGKILL: the kernel's OOM killer) is the caller's to judge.
"""

import math
import os
import selectors
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from processing.engine.errors import PermanentError

MB = 1024 * 1024
# A tool gets a third of its wall-clock limit in CPU seconds. One that uses them all is
# spinning on its file whatever the load (a dense page's OCR takes 2-5 s of the 180), and is
# stopped for good; one that runs out of wall-clock time first is hung or on a host too busy,
# which a retry may cure. SIGXCPU first, then SIGKILL this much later if the tool ignores it.
_CPU_SHARE_OF_TIMEOUT = 3
_CPU_HARD_MARGIN_SECONDS = 5


@dataclass(frozen=True)
class ToolLimits:
    """The box: `processing.options.tool_limits` fills it in from the settings."""

    memory_mb: int = 2048  # address space: Tesseract on a 300-DPI page needs about 300 MB
    output_mb: int = 256  # any one file a tool writes (a page image, the text of a document)
    text_mb_per_page: int = 8  # what a tool prints, per page it reads: a dense page is 100 KB


DEFAULT_LIMITS = ToolLimits()


class ToolLimitExceeded(PermanentError):
    """The file made a tool pass one of its limits: it would do it again."""


@dataclass(frozen=True)
class ToolRun:
    returncode: int  # negative: killed by that signal
    stdout: bytes


def boxed(command: list[str], limits: ToolLimits, timeout: float, output_bytes: int) -> list[str]:
    """`command` under prlimit: address space, CPU seconds, file size, open files, no core.
    A tool that is not installed raises FileNotFoundError here, as running it would without
    the box (prlimit itself would only exit with 127)."""
    if shutil.which(command[0]) is None:
        raise FileNotFoundError(f"{command[0]} is not installed")
    cpu = max(math.ceil(timeout / _CPU_SHARE_OF_TIMEOUT), 1)
    return [
        "prlimit",
        f"--as={limits.memory_mb * MB}",
        f"--cpu={cpu}:{cpu + _CPU_HARD_MARGIN_SECONDS}",
        f"--fsize={output_bytes}",
        "--nofile=256",
        "--core=0",
        "--",
        *command,
    ]


def start(command: list[str], limits: ToolLimits, *, timeout: float, output_bytes: int) -> "subprocess.Popen[bytes]":
    """Start a tool in the box, its output going to files it writes (poppler's page images);
    the caller waits for it at most `timeout` seconds."""
    return subprocess.Popen(
        boxed(command, limits, timeout, output_bytes), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def run(
    command: list[str], limits: ToolLimits, *, timeout: float, output_bytes: int, cwd: Path | None = None
) -> ToolRun:
    """Run a tool in the box and read what it prints, at most `output_bytes` of it.

    Raises `subprocess.TimeoutExpired` after `timeout` seconds (the tool killed), and
    `ToolLimitExceeded` when it printed more than `output_bytes` or a limit stopped it."""
    deadline = time.monotonic() + timeout
    process = subprocess.Popen(
        boxed(command, limits, timeout, output_bytes),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=cwd,
    )
    try:
        stdout = _read_capped(process, deadline, output_bytes, command, timeout)
        process.wait(timeout=max(0.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    raise_if_limited(process.returncode, command[0])
    return ToolRun(process.returncode, stdout)


def raise_if_limited(returncode: int | None, tool: str) -> None:
    """`ToolLimitExceeded` for a tool its CPU or file-size limit stopped."""
    if returncode == -signal.SIGXCPU:
        raise ToolLimitExceeded(f"This file kept the {_named(tool)} busy past its CPU limit; it cannot be read.")
    if returncode == -signal.SIGXFSZ:
        raise ToolLimitExceeded(f"This file made the {_named(tool)} write more than any page could; it cannot be read.")


def _read_capped(
    process: "subprocess.Popen[bytes]", deadline: float, cap: int, command: list[str], timeout: float
) -> bytes:
    stream: IO[bytes] | None = process.stdout
    assert stream is not None  # stdout=PIPE
    chunks: list[bytes] = []
    size = 0
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise subprocess.TimeoutExpired(command, timeout)
            if not selector.select(remaining):
                continue
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > cap:
                raise ToolLimitExceeded(
                    f"This file made the {_named(command[0])} print more than {cap // MB} MB of text, more than "
                    "its pages could hold; it cannot be read."
                )
            chunks.append(chunk)


_TOOL_NAMES = {"tesseract": "OCR engine", "pdftotext": "PDF text reader", "pdftoppm": "PDF renderer"}


def _named(tool: str) -> str:
    return _TOOL_NAMES.get(os.path.basename(tool), "PDF renderer" if "pdf" in tool else "file checker")
