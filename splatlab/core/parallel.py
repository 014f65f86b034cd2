"""Run one function over many files: here, on local processes, or on a Dask cluster.

:func:`engine` opens what ``executor`` names and :meth:`Engine.run` maps a function over
the files there, with a progress bar of files and bytes, and returns the results in the
order of the files whatever order they finish in, so that every executor gives the same
answer. ``executor`` is

* ``None`` (the default): local processes, ``workers`` of them (default: one a core),
  or this process when there is one file or ``workers=1``;
* ``"processes"`` (always a pool, even of one), ``"here"`` (this process);
* ``"dask://HOST:PORT"`` (a running Dask scheduler), ``"dask://local"`` (a LocalCluster
  of ``workers`` processes, one thread each, closed afterwards) or a
  ``distributed.Client`` (used as it is, left open);
* any ``concurrent.futures.Executor``, or anything with ``.map(fn, items)``.

Local processes start by ``forkserver`` (``spawn`` where there is none), never by a
plain fork: a child forked from a process whose numba or torch thread pools are running
can deadlock. The fork server imports the worker function's module once and forks each
worker from it, so a worker starts in milliseconds. Each worker runs one file at a time
with one torch thread (two workers on two cores must not fight over four threads).
``shared`` is sent to each worker once (a pool's initializer, Dask's scatter), not with
every file.

Example:
    >>> with engine("here") as run_on:
    ...     run_on.run(divmod, [7, 9], shared=2)
    [(3, 1), (4, 1)]
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from .progress import tally

DASK_PREFIX = "dask://"


def start_method() -> str:
    """How local worker processes start: ``"forkserver"`` where the system has it, else
    ``"spawn"``.

    Example:
        >>> start_method() in ("forkserver", "spawn")
        True
    """
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


_SHARED: Any = None
"""In a local worker process: the ``shared`` value of the run (set by the initializer)."""


def _start_worker(shared: Any, setup: Callable[[], None] | None) -> None:
    global _SHARED
    _SHARED = shared
    _one_thread(setup)


def _one_thread(setup: Callable[[], None] | None) -> None:
    """Make this (dedicated worker) process compute on one thread: ``setup``, then torch's
    (imported by the fork server's preload or by ``setup``, if at all)."""
    if setup is not None:
        setup()
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def _call_with_shared(fn: Callable, item: Any) -> Any:
    return fn(item, _SHARED)


@dataclass
class Engine:
    """Where :meth:`run` maps its function: ``kind`` is ``"here"``, ``"processes"``,
    ``"dask"`` or ``"executor"``; ``dashboard`` is the Dask dashboard's address;
    ``dedicated`` says the workers were started for this work (local processes, a
    ``dask://local`` cluster), so each is made to compute on one thread."""

    kind: str
    workers: int = 1
    target: Any = None
    dashboard: str | None = None
    dedicated: bool = False
    _stack: ExitStack = field(default_factory=ExitStack, repr=False)
    _setup: Callable[[], None] | None = field(default=None, repr=False)
    _processes: tuple | None = field(default=None, repr=False)

    def run(self, fn: Callable[[Any, Any], Any], items: Sequence[Any], *,
            shared: Any = None, sizes: Sequence[int] | None = None,
            setup: Callable[[], None] | None = None, description: str = "work") -> list[Any]:
        """``[fn(item, shared) for item in items]``, computed where this engine runs.

        ``sizes`` (bytes an item) drive the progress bar's byte count. ``setup`` runs once
        in each dedicated worker before its first item (never in this process, nor on
        workers someone else started); the fork server imports its module and ``fn``'s.
        """
        self._setup = setup
        items = list(items)
        sizes = list(sizes) if sizes is not None else [0] * len(items)
        results: list[Any] = [None] * len(items)
        with tally(description, files=len(items), total_bytes=sum(sizes)) as advance:
            for index, result in self._completed(fn, items, shared):
                results[index] = result
                advance(sizes[index])
        return results

    def _completed(self, fn: Callable, items: list, shared: Any) -> Iterator[tuple[int, Any]]:
        """(index, result) pairs as the work finishes."""
        if self.kind == "here" or not items:
            for index, item in enumerate(items):
                yield index, fn(item, shared)
        elif self.kind == "processes":
            pool = self._pool(fn, shared)
            futures = {pool.submit(_call_with_shared, fn, item): i for i, item in
                       enumerate(items)}
            try:
                for future in as_completed(futures):
                    yield futures[future], future.result()
            finally:  # on an error or an interrupt, drop the work not yet started
                for future in futures:
                    future.cancel()
        elif self.kind == "dask":
            from distributed import as_completed as dask_completed

            client = self.target
            if self.dedicated:
                client.run(_one_thread, self._setup)
            here = (client.scatter(shared, broadcast=True, hash=False) if shared is not None
                    else None)
            futures = client.map(fn, items, [here] * len(items), pure=False)
            index = {f.key: i for i, f in enumerate(futures)}
            try:
                for future in dask_completed(futures):
                    yield index[future.key], future.result()
            finally:
                client.cancel(futures)
        elif isinstance(self.target, Executor):
            futures = {self.target.submit(fn, item, shared): i for i, item in enumerate(items)}
            for future in as_completed(futures):
                yield futures[future], future.result()
        else:
            yield from enumerate(self.target.map(partial(_flip, fn, shared), items))

    def _pool(self, fn: Callable, shared: Any) -> ProcessPoolExecutor:
        """The worker processes; kept for the next run with the same ``shared`` and setup
        (started workers stay warm), closed with the engine."""
        key = (fn.__module__, self._setup)
        if self._processes is not None and self._processes[0] == key and (
                self._processes[2] is shared or self._processes[2] == shared):
            return self._processes[1]
        context = multiprocessing.get_context(start_method())
        if context.get_start_method() == "forkserver":
            modules = {f.__module__ for f in (fn, self._setup) if f is not None}
            context.set_forkserver_preload(sorted(modules - {"__main__"}))
        pool = ProcessPoolExecutor(self.workers, mp_context=context,
                                   initializer=_start_worker, initargs=(shared, self._setup))
        if self._processes is not None:
            self._processes[1].shutdown(wait=True, cancel_futures=True)
        else:
            self._stack.callback(lambda: self._processes[1].shutdown(wait=True,
                                                                     cancel_futures=True))
        self._processes = (key, pool, shared)
        return pool


def _flip(fn: Callable, shared: Any, item: Any) -> Any:
    return fn(item, shared)


@contextmanager
def engine(executor: Any = None, workers: int | None = None, items: int | None = None
           ) -> Iterator[Engine]:
    """The :class:`Engine` that ``executor`` names (see the module docstring), closed on
    exit when this function opened it. ``items`` (how many there will be) lets the default
    run a single item here and size the pool no larger than the work.

    Example:
        >>> with engine(None, workers=4, items=1) as e:
        ...     e.kind
        'here'
    """
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1 (got {workers})")
    cores = os.cpu_count() or 1
    wanted = workers or cores
    if items is not None:
        wanted = max(1, min(wanted, items))
    if executor is None:
        executor = "here" if wanted == 1 else "processes"
    with ExitStack() as stack:
        if isinstance(executor, str):
            made = _named(executor, wanted, workers, stack)
        elif _is_dask_client(executor):
            made = Engine("dask", _dask_workers(executor), executor, executor.dashboard_link)
        elif isinstance(executor, Executor) or hasattr(executor, "map"):
            made = Engine("executor", getattr(executor, "_max_workers", 1), executor)
        else:
            raise ValueError(f"not an executor: {executor!r} (give None, 'processes', 'here',"
                             " 'dask://ADDRESS', 'dask://local', a distributed.Client or a"
                             " concurrent.futures executor)")
        made._stack = stack
        yield made


def _named(name: str, wanted: int, workers: int | None, stack: ExitStack) -> Engine:
    if name == "here":
        return Engine("here")
    if name == "processes":
        return Engine("processes", wanted, dedicated=True)
    if not name.startswith(DASK_PREFIX):
        raise ValueError(f"unknown executor {name!r}: give 'processes', 'here',"
                         " 'dask://HOST:PORT' or 'dask://local'")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError("a Dask executor needs distributed: pip install 'splatlab[dask]'"
                         ) from None
    address = name[len(DASK_PREFIX):]
    if address == "local":
        import dask

        environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
        # Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off
        # glibc's adaptive mmap threshold: every large numpy array is then mapped and
        # unmapped afresh, and a scan spends about a third more CPU in page faults
        # (measured on the 2-core dev box). On a cluster of your own, set the workers'
        # distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_ to null likewise.
        environ.pop("MALLOC_TRIM_THRESHOLD_", None)
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers or min(2, os.cpu_count() or 1), threads_per_worker=1,
                processes=True, dashboard_address=":0", silence_logs=logging.ERROR))
        client = stack.enter_context(Client(cluster))
    else:
        try:
            client = stack.enter_context(Client(address if "://" in address
                                                else f"tcp://{address}", timeout="10s"))
        except OSError as e:
            raise ValueError(f"cannot reach the Dask scheduler at {address}: {e}") from None
    return Engine("dask", _dask_workers(client), client, client.dashboard_link,
                  dedicated=address == "local")


def _is_dask_client(executor: Any) -> bool:
    distributed = sys.modules.get("distributed")
    return distributed is not None and isinstance(executor, distributed.Client)


def _dask_workers(client: Any) -> int:
    return sum(client.nthreads().values()) or 1


__all__ = ["DASK_PREFIX", "Engine", "engine", "start_method"]
