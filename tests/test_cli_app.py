"""Starting the counter with a bad configuration names the problem and starts nothing."""

from __future__ import annotations

import os
import re
import select
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from counter_app.crash import CRASH_EXIT_STATUS

ROOT = Path(__file__).resolve().parents[1]


def test_counter_refuses_to_start_half_configured(config_file, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = config_file(
        """
        language = "nl"
        [scale]
        baudrat = 9600
        [printer]
        connection = "network"
        """
    )
    result = subprocess.run(
        [sys.executable, "-m", "counter_app", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert f"{path}:3: [scale] baudrat: unknown key" in result.stderr
    assert 'did you mean "baudrate"' in result.stderr
    assert "[printer]" in result.stderr and "host" in result.stderr
    # Nothing was created: no database next to a config that was refused.
    assert not list(tmp_path.rglob("*.sqlite3"))


def test_config_after_the_sub_command_is_honoured(config_file) -> None:  # type: ignore[no-untyped-def]
    from counter_app.cli.main import _hoist_config

    assert _hoist_config(["config", "check", "--config", "x.toml"]) == [
        "--config",
        "x.toml",
        "config",
        "check",
    ]
    assert _hoist_config(["config", "show", "--config=x.toml"]) == [
        "--config=x.toml",
        "config",
        "show",
    ]


# -- an error nobody foresaw ----------------------------------------------------------------

CRASH_REPORT_NAME = re.compile(r"crash-\d{8}-\d{6}-\d+\.txt")


def _environment(isolated_dirs: Path) -> dict[str, str]:
    """The test's XDG folders (conftest.isolated_dirs) for a child process."""
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _run_python(
    code: str, isolated_dirs: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env=_environment(isolated_dirs),
    )


def _only_report(isolated_dirs: Path) -> Path:
    folder = isolated_dirs / "data" / "milieustraat-counter"
    reports = sorted(folder.glob("crash-*.txt"))
    assert len(reports) == 1, reports
    assert CRASH_REPORT_NAME.fullmatch(reports[0].name)
    return reports[0]


def _assert_owner_only(report: Path) -> None:
    if os.name == "posix":
        assert stat.S_IMODE(report.stat().st_mode) == 0o600
        assert stat.S_IMODE(report.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    ("config_text", "sentence"),
    [
        ("", "De teller is gestopt door een onverwachte fout. Het foutrapport staat in"),
        ('language = "en"\n', "The counter stopped after an unexpected error. The crash report"),
    ],
)
def test_an_unforeseen_error_in_a_command_leaves_a_crash_report(
    config_text: str,
    sentence: str,
    config_file,
    isolated_dirs: Path,  # type: ignore[no-untyped-def]
) -> None:
    path = config_file(config_text)
    result = _run_python(
        f"""
        import sys
        from counter_app.cli import config as cli_config

        def check(args, ctx):
            ctx.config  # the configuration was read
            raise RuntimeError("forced failure for the test")

        cli_config.check = check
        from counter_app.cli import main
        sys.exit(main(["--config", {str(path)!r}, "config", "check"]))
        """,
        isolated_dirs,
    )
    assert result.returncode == CRASH_EXIT_STATUS != 0
    assert result.stdout == ""
    report = _only_report(isolated_dirs)
    # One line, in the configured language, that says where the report is.
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(sentence)
    assert str(report) in result.stderr
    text = report.read_text(encoding="utf-8")
    assert "RuntimeError: forced failure for the test" in text
    assert "Traceback (most recent call last)" in text
    assert "version: 0.1.0" in text
    assert f"command: counter --config {path} config check" in text
    _assert_owner_only(report)


def _run_in_a_terminal(code: str, isolated_dirs: Path, timeout: float = 60) -> tuple[int, str]:
    """Run ``code`` with a real pseudo-terminal as its terminal; its status and output."""
    import fcntl
    import pty
    import struct
    import termios

    main_fd, child_fd = pty.openpty()
    fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdin=child_fd,
        stdout=child_fd,
        stderr=child_fd,
        cwd=ROOT,
        env={**_environment(isolated_dirs), "TERM": "xterm-256color"},
        start_new_session=True,
    )
    os.close(child_fd)
    output = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main_fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(main_fd, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            elif process.poll() is not None:
                break
        status = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(main_fd)
    return status, output.decode("utf-8", "replace")


needs_pty = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")


@needs_pty
def test_an_unforeseen_error_in_the_counter_screen_leaves_a_crash_report(
    isolated_dirs: Path,
) -> None:
    status, output = _run_in_a_terminal(
        """
        import sys
        from counter_app.ui.app import CounterApp

        def on_mount(self):
            raise RuntimeError("forced failure in the app")

        CounterApp.on_mount = on_mount
        from counter_app.cli import main
        sys.exit(main([]))
        """,
        isolated_dirs,
    )
    assert status == CRASH_EXIT_STATUS, output
    report = _only_report(isolated_dirs)
    assert "De teller is gestopt door een onverwachte fout" in output
    assert report.name in output
    # Textual's own printout (a traceback with local variables) is not shown.
    assert "forced failure" not in output
    text = report.read_text(encoding="utf-8")
    assert "RuntimeError: forced failure in the app" in text
    _assert_owner_only(report)


@needs_pty
def test_the_counter_creates_its_data_directory_owner_only(isolated_dirs: Path) -> None:
    status, output = _run_in_a_terminal(
        """
        import sys
        from counter_app.ui.app import CounterApp

        def on_mount(self):
            self.exit()

        CounterApp.on_mount = on_mount
        from counter_app.cli import main
        sys.exit(main([]))
        """,
        isolated_dirs,
    )
    assert status == 0, output
    folder = isolated_dirs / "data" / "milieustraat-counter"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert not list(folder.glob("crash-*"))


def test_without_a_place_for_the_report_the_error_is_shown(
    isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from counter_app.crash import report_crash

    blocked = isolated_dirs / "not-a-folder"
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocked))
    try:
        raise RuntimeError("forced failure without a data directory")
    except RuntimeError as error:
        err = io.StringIO()
        assert report_crash(error, ["config", "check"], err=err) == CRASH_EXIT_STATUS
    lines = err.getvalue().splitlines()
    assert "RuntimeError: forced failure without a data directory" in lines
    assert lines[-1].startswith("De teller is gestopt door een onverwachte fout. Het foutrapport")
    assert "kon niet worden opgeslagen" in lines[-1]


def test_version_names_the_installed_package(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    from counter_app.cli import main

    with pytest.raises(SystemExit) as ended:
        main(["--version"])
    assert ended.value.code == 0
    assert capsys.readouterr().out == f"counter {version('milieustraat-counter')}\n"
