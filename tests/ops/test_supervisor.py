"""The supervisor restarts what dies, with back-off and a limit, and keeps the others running."""

from __future__ import annotations

import sys
from pathlib import Path

from ops.runner import ProcessSpec
from ops.supervisor import RestartPolicy, Supervisor, restart_delay
from tests.waiting import wait_until


def test_back_off_doubles_up_to_the_cap() -> None:
    policy = RestartPolicy(first_delay_s=1, max_delay_s=30)
    assert [restart_delay(policy, n) for n in (1, 2, 3, 4, 5, 6, 7)] == [1, 2, 4, 8, 16, 30, 30]


def _spec(name: str, code: str, tmp_path: Path) -> ProcessSpec:
    return ProcessSpec(name, [sys.executable, "-c", code], tmp_path, {"PATH": "/usr/bin:/bin"})


def test_a_dying_process_is_restarted_and_the_others_keep_running(tmp_path: Path) -> None:
    lines: list[tuple[str, str]] = []
    crashing = _spec("crashy", "import sys; print('up', flush=True); sys.exit(3)", tmp_path)
    steady = _spec("steady", "import time; print('up', flush=True); time.sleep(60)", tmp_path)
    policy = RestartPolicy(first_delay_s=0.05, max_delay_s=0.1, max_restarts=3, window_s=60)
    supervisor = Supervisor([crashing, steady], lambda name, line: lines.append((name, line)), policy)
    supervisor.watch_in_background(interval_s=0.02)
    try:
        steady_pid = supervisor.pid("steady")
        assert wait_until(lambda: supervisor.states()["crashy"] == "given_up", 10)
        assert supervisor.states()["steady"] == "running" and supervisor.pid("steady") == steady_pid
    finally:
        supervisor.stop(grace_s=5)
    notes = [line for name, line in lines if name == "supervisor"]
    assert sum("crashy exited with code 3; restarting" in n for n in notes) == 3
    assert any("crashy exited with code 3 and was restarted 3 times" in n and "left down" in n for n in notes)
    assert sum(line == "up" for name, line in lines if name == "crashy") == 4  # the first start and 3 restarts
    assert supervisor.states()["steady"] != "running"  # stop() ends everything


def test_a_killed_process_comes_back_with_a_new_pid(tmp_path: Path) -> None:
    import os
    import signal

    lines: list[tuple[str, str]] = []
    steady = _spec("worker", "import time; time.sleep(60)", tmp_path)
    supervisor = Supervisor([steady], lambda n, line: lines.append((n, line)), RestartPolicy(first_delay_s=0.05))
    supervisor.watch_in_background(interval_s=0.02)
    try:
        first = supervisor.pid("worker")
        assert first is not None
        os.kill(first, signal.SIGKILL)
        assert wait_until(lambda: supervisor.pid("worker") not in (None, first), 10)
        assert any("worker exited with code -9; restarting" in line for _, line in lines)
    finally:
        supervisor.stop(grace_s=5)
