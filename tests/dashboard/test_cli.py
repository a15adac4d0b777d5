"""``galexplore serve`` and ``galexplore demo`` at the command line (without starting a server)."""

from __future__ import annotations

import socket

import pytest

from galexplore.cli import main


def test_serve_help_explains_the_safe_default(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "127.0.0.1" in out and "--port" in out and "SURVEY" in out and "RUN" in out


def test_demo_help_lists_the_stages(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    out = capsys.readouterr().out
    for stage in ("synthesise", "train", "embed", "project", "cluster", "serve"):
        assert stage in out


def test_serve_a_missing_survey_is_one_line(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "nope"), str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("galexplore: error:") and "nope" in err and "\n" not in err and "Traceback" not in err


def test_serve_a_busy_port_is_one_line(tiny_survey, tiny_run, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["serve", str(tiny_survey.path), str(tiny_run), "--port", str(port)]) == 1
    err = capsys.readouterr().err.strip()
    assert f"cannot listen on 127.0.0.1:{port}" in err and "\n" not in err


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_serve_rejects_bad_ports(port, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["serve", "s", "r", "--port", port])
    assert exc.value.code == 2
