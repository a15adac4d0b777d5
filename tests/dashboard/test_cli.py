"""``galexplore serve`` and ``galexplore demo`` at the command line (without starting a server)."""

from __future__ import annotations

import socket

import pytest

from galexplore.cli import main
from galexplore.errors import GalexploreError


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
    assert (
        err.startswith("galexplore: error:") and "nope" in err and "\n" not in err and "Traceback" not in err
    )


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


# -- safe serving (issue 8) -------------------------------------------------------------------


def test_exposing_the_server_needs_an_explicit_origin(tiny_survey, tiny_run, capsys):
    assert main(["serve", str(tiny_survey.path), str(tiny_run), "--address", "0.0.0.0"]) == 1
    err = capsys.readouterr().err.strip()
    assert "--allow-websocket-origin" in err and "0.0.0.0" in err and "\n" not in err


def test_demo_refuses_an_unsafe_address_before_any_work(tmp_path, capsys):
    assert main(["demo", "--workdir", str(tmp_path / "demo"), "--address", "0.0.0.0"]) == 1
    assert "--allow-websocket-origin" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()


def test_exposure_policy():
    from galexplore.dashboard.server import check_exposure, is_loopback
    from galexplore.errors import GalexploreError

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("myhost")
    assert check_exposure("127.0.0.1", [], None) == []
    with pytest.raises(GalexploreError, match="allow-websocket-origin"):
        check_exposure("192.168.1.5", [], None)
    (warning,) = check_exposure("0.0.0.0", ["myhost:5006"], None)
    assert "without a password" in warning and "--basic-auth" in warning


def test_basic_auth_values_are_checked(tmp_path):
    from galexplore.dashboard.server import check_exposure
    from galexplore.errors import GalexploreError

    users = tmp_path / "users.json"
    users.write_text('{"ana": "s3cret-pass"}')
    assert check_exposure("0.0.0.0", ["h:5006"], str(users)) == []
    users.write_text('["ana"]')
    with pytest.raises(GalexploreError, match=r"users.json: expected a JSON object"):
        check_exposure("0.0.0.0", ["h:5006"], str(users))
    users.write_text("{not json")
    with pytest.raises(GalexploreError, match=r"users.json: not JSON"):
        check_exposure("127.0.0.1", [], str(users))
    with pytest.raises(GalexploreError, match="missing.json: cannot read"):
        check_exposure("127.0.0.1", [], str(tmp_path / "missing.json"))
    with pytest.raises(GalexploreError, match="at least 8 characters"):
        check_exposure("127.0.0.1", [], "short")


def test_serve_help_documents_exposure_and_auth(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "--basic-auth" in out and "--allow-websocket-origin" in out and "ssh -L" in out


def test_basic_auth_puts_the_dashboard_behind_a_login(tiny_survey, tiny_run, tmp_path):
    from urllib.parse import urlencode

    from tornado.httpclient import AsyncHTTPClient

    from galexplore.dashboard.server import make_server

    users = tmp_path / "users.json"
    users.write_text('{"ana": "s3cret-pass"}')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = make_server(tiny_survey.path, tiny_run, port=port, basic_auth=str(users))
    server.start()
    base = f"http://127.0.0.1:{port}"

    async def requests():
        client = AsyncHTTPClient()
        page = await client.fetch(f"{base}/explorer", follow_redirects=False, raise_error=False)
        wrong = await client.fetch(
            f"{base}/login",
            method="POST",
            body=urlencode({"username": "ana", "password": "x"}),
            follow_redirects=False,
            raise_error=False,
        )
        right = await client.fetch(
            f"{base}/login",
            method="POST",
            body=urlencode({"username": "ana", "password": "s3cret-pass"}),
            follow_redirects=False,
            raise_error=False,
        )
        return page, wrong, right

    try:
        page, wrong, right = server.io_loop.run_sync(requests, timeout=60)
    finally:
        server.stop()
    assert page.code == 302 and "login" in page.headers["Location"]
    assert wrong.code == 302 and "error=" in wrong.headers["Location"]
    assert right.code == 302 and "user=" in right.headers.get("Set-Cookie", "")


@pytest.mark.slow
def test_serve_with_two_processes_serves_pages_from_both(tiny_survey, tiny_run, tmp_path):
    """--num-procs 2: two worker processes under one supervisor share the port; pages load."""
    import subprocess
    import urllib.request

    from galexplore.testing import ServerProcess

    server = ServerProcess(
        tiny_survey.path, tiny_run, tmp_path / "server.log", extra_args=["--num-procs", "2"]
    )
    try:
        server.wait_ready()
        for _ in range(3):
            with urllib.request.urlopen(server.url, timeout=120) as r:
                assert r.status == 200 and b"galexplore" in r.read()
        children = subprocess.run(
            ["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(children) == 2, server.log()
        assert server.log().count("dashboard at") == 1  # announced once, not per process
        assert "Traceback" not in server.log()
    finally:
        server.stop()
        for pid in children if "children" in locals() else []:
            subprocess.run(["kill", pid], check=False)


def test_serve_rejects_a_negative_process_count(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["serve", "s", "r", "--num-procs", "-1"])
    assert exc.value.code == 2
    assert "--num-procs: must be ≥ 0, got -1" in capsys.readouterr().err


def test_compression_levels_are_checked(tiny_survey, tiny_run, capsys):
    from galexplore.dashboard.server import COMPRESSION_LEVEL, compression_settings

    assert compression_settings(0) == {}
    assert compression_settings(COMPRESSION_LEVEL) == {
        "websocket_compression_level": COMPRESSION_LEVEL,
        "compress_response": True,
    }
    with pytest.raises(GalexploreError, match="got 12"):
        compression_settings(12)
    assert main(["serve", str(tiny_survey.path), str(tiny_run), "--compression-level", "12"]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "compression level" in err and "12" in err, err
