"""Processes that start together, forked from one interpreter that loaded their imports.

A test of what two or three programs do at once on one database needs them as separate
processes (each its own SQLite connection and locks), not their interpreters' start:
importing SQLAlchemy and SQLModel alone costs each new interpreter about a second of
CPU. So one interpreter (``python -c``, started by the test) imports what they need and
forks them; each opens its own connections after the fork, gets ready, and all start
their work at the same moment.

Used inside that interpreter: ``sys.path`` holds this folder (``CHILD_PATH``).
"""

from __future__ import annotations

import os
import select
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

State = TypeVar("State")

#: The ``PYTHONPATH`` for the forking interpreter: the project and this folder.
CHILD_PATH = os.pathsep.join(str(p) for p in (Path(__file__).parents[1], Path(__file__).parent))


def fork_together(
    count: int, prepare: Callable[[int], State], work: Callable[[State], None]
) -> int:
    """Fork ``count`` processes; each runs ``prepare(index)`` (open its connections),
    waits until all are prepared, then runs ``work`` on what ``prepare`` returned.

    Call it before this interpreter opens any database or starts any thread: a forked
    child must inherit neither. Returns how many children failed (their tracebacks
    are on stderr).
    """
    ready_read, ready_write = os.pipe()
    go_read, go_write = os.pipe()
    children = []
    for index in range(count):
        pid = os.fork()
        if pid == 0:  # the child: never returns
            status = 1
            try:
                os.close(ready_read)
                os.close(go_write)
                state = prepare(index)
                os.write(ready_write, b"r")
                os.read(go_read, 1)  # end of file: everyone is ready
                work(state)
                status = 0
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        children.append(pid)
    os.close(ready_write)
    os.close(go_read)
    ready = 0
    ended: dict[int, int] = {}
    while ready < count and len(ended) < count:
        readable, _, _ = select.select([ready_read], [], [], 0.1)
        if readable:
            ready += len(os.read(ready_read, count))
        for pid in children:
            # A child that ended before it was ready would leave the others waiting.
            if pid not in ended:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    ended[pid] = os.waitstatus_to_exitcode(status)
        if ended and any(code != 0 for code in ended.values()):
            break
    os.close(go_write)  # all start at once
    os.close(ready_read)
    for pid in children:
        if pid not in ended:
            ended[pid] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    return sum(1 for code in ended.values() if code != 0)
