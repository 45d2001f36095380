"""Keeping the product's processes up: a process that dies is restarted (with back-off, up to a limit), the
others keep running, and every start, exit and restart is a log line.

The processes run in their own sessions (process groups): Ctrl-C reaches the supervisor only, which stops
each group in turn (TERM, then KILL after a grace period).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from ops.runner import ProcessSpec, stop_process_groups


@dataclass(frozen=True)
class RestartPolicy:
    first_delay_s: float = 1.0  # the first restart waits this long, each further one twice as long …
    max_delay_s: float = 30.0  # … up to this
    max_restarts: int = 10  # more restarts than this within `window_s`: the process is left down
    window_s: float = 600.0
    healthy_after_s: float = 60.0  # a process that ran this long starts again from `first_delay_s`


def restart_delay(policy: RestartPolicy, consecutive: int) -> float:
    """The wait before restart number `consecutive` (1-based) of a process that keeps dying."""
    return min(policy.max_delay_s, policy.first_delay_s * 2 ** max(0, consecutive - 1))


class Printer(Protocol):
    def __call__(self, name: str, line: str) -> None: ...


def console_printer(out: IO[str]) -> Printer:
    lock = threading.Lock()

    def emit(name: str, line: str) -> None:
        stamp = dt.datetime.now().strftime("%H:%M:%S")
        with lock:
            out.write(f"{stamp} {name:<8}| {line}\n")
            out.flush()

    return emit


@dataclass
class Child:
    spec: ProcessSpec
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    consecutive: int = 0  # restarts since it last ran for `healthy_after_s`
    restarts: deque[float] = field(default_factory=deque)  # monotonic times of recent restarts
    restart_at: float | None = None  # a restart is due at this monotonic time
    given_up: bool = False

    @property
    def state(self) -> str:
        if self.given_up:
            return "given_up"
        if self.process is not None and self.process.poll() is None:
            return "running"
        return "restarting" if self.restart_at is not None else "stopped"


class Supervisor:
    def __init__(
        self,
        specs: list[ProcessSpec],
        printer: Printer,
        policy: RestartPolicy | None = None,
        log_dir: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`log_dir`: each process's output goes to `<name>.log` there instead of through `printer`."""
        self.children = {spec.name: Child(spec) for spec in specs}
        self.printer, self.policy, self.log_dir, self.clock = printer, policy or RestartPolicy(), log_dir, clock
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    # --- starting and watching ----------------------------------------------------------------

    def start(self) -> None:
        for child in self.children.values():
            self._spawn(child)

    def _spawn(self, child: Child) -> None:
        spec = child.spec
        if self.log_dir is not None:
            with open(self.log_dir / f"{spec.name}.log", "ab") as log:  # the child keeps its own descriptor
                process = subprocess.Popen(
                    spec.cmd, cwd=spec.cwd, env=spec.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
        else:
            process = subprocess.Popen(
                spec.cmd,
                cwd=spec.cwd,
                env=spec.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            threading.Thread(target=self._pump, args=(spec.name, process), daemon=True).start()
        child.process, child.started_at, child.restart_at = process, self.clock(), None
        self.printer("supervisor", f"{spec.name} started (pid {process.pid})")

    def _pump(self, name: str, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            self.printer(name, raw.decode("utf-8", errors="replace").rstrip())

    def poll_once(self) -> None:
        """Notice exits and start what is due; call it every fraction of a second."""
        now = self.clock()
        with self._lock:
            if self._stopping.is_set():
                return
            for child in self.children.values():
                if child.given_up:
                    continue
                if child.restart_at is not None:
                    if now >= child.restart_at:
                        self._spawn(child)
                    continue
                code = child.process.poll() if child.process is not None else None
                if child.process is None or code is None:
                    continue
                self._schedule_restart(child, code, now)

    def _schedule_restart(self, child: Child, code: int, now: float) -> None:
        name, policy = child.spec.name, self.policy
        if child.process is not None:  # what the dead process left behind (Sanic's worker) must free the port
            try:
                os.killpg(child.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if now - child.started_at >= policy.healthy_after_s:
            child.consecutive = 0
        while child.restarts and now - child.restarts[0] > policy.window_s:
            child.restarts.popleft()
        if len(child.restarts) >= policy.max_restarts:
            child.given_up = True
            self.printer(
                "supervisor",
                f"{name} exited with code {code} and was restarted {len(child.restarts)} times within "
                f"{policy.window_s:.0f} s: left down; the other processes keep running. Fix the cause (see its "
                f"log above) and restart PowerDesk.",
            )
            return
        child.consecutive += 1
        child.restarts.append(now)
        delay = restart_delay(policy, child.consecutive)
        child.restart_at = now + delay
        self.printer(
            "supervisor",
            f"{name} exited with code {code}; restarting in {delay:.0f} s "
            f"(restart {len(child.restarts)} of at most {policy.max_restarts} per {policy.window_s:.0f} s)",
        )

    def states(self) -> dict[str, str]:
        return {name: child.state for name, child in self.children.items()}

    def pid(self, name: str) -> int | None:
        process = self.children[name].process
        return process.pid if process is not None and process.poll() is None else None

    # --- running and stopping -----------------------------------------------------------------

    def run(self, interval_s: float = 0.5) -> int:
        """Start everything and watch until SIGINT/SIGTERM; then stop every process group."""

        def stop_on(signum: int, _frame: object) -> None:
            self.printer("supervisor", f"{signal.Signals(signum).name} received: stopping every process")
            self._stopping.set()

        previous = {s: signal.signal(s, stop_on) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            self._watch(interval_s)
        finally:
            self.stop()
            for s, handler in previous.items():
                signal.signal(s, handler)
        return 0

    def watch_in_background(self, interval_s: float = 0.5) -> threading.Thread:
        """Start everything and watch from a daemon thread (tests and benchmarks); `stop()` ends it."""
        self.start()
        thread = threading.Thread(target=self._watch, args=(interval_s,), name="supervisor", daemon=True)
        thread.start()
        return thread

    def _watch(self, interval_s: float) -> None:
        while not self._stopping.wait(interval_s):
            self.poll_once()

    def stop(self, grace_s: float = 20) -> None:
        with self._lock:
            self._stopping.set()
            processes = [c.process for c in self.children.values() if c.process is not None]
        stop_process_groups(processes, grace_s)
