"""Shared pytest fixtures, grouped by what they serve."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import edge_tts.drm
import faults
import pytest
from edge_server import EdgeServer

# --- markers: the quick tier, pytest -m "not slow" ------------------------------------------

SLOW_BY_NATURE = ("browser", "ray", "video", "lint")


def pytest_itemcollected(item: pytest.Item) -> None:
    """A test marked browser, ray, video or lint is slow too, so that ``-m "not slow"`` alone
    leaves all of them out (marked as it is collected, before ``-m`` selects)."""
    if any(item.get_closest_marker(name) for name in SLOW_BY_NATURE):
        item.add_marker(pytest.mark.slow)


# --- xdist: the tests of an xdist_group on one worker ------------------------------------------


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``--dist loadgroup`` pytest-xdist keeps the tests of an ``xdist_group`` on one
    worker by a suffix ``@group`` that its workers add to their node ids; pytest-xdist 3.8 sets
    ``item._nodeid``, which pytest 9.2 no longer reads the node id from, so the tests of the
    "ray" group ran on both workers (two Ray instances at once). The suffix is added here where
    it is missing (with a pytest-xdist that adds it, this does nothing)."""
    if not getattr(config.option, "loadgroup", False):  # set on xdist's workers only
        return
    with suppress(ImportError):
        from _pytest.nodeid import NodeId  # pytest 9.2's node ids

        for item in items:
            marks = item.iter_markers("xdist_group")
            groups = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in marks}
            if groups and "@" not in item.nodeid and hasattr(item, "_id"):
                item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(sorted(groups))}")


# --- edge: a loopback stand-in for the Edge read-aloud service (scripts/edge_server.py) --------


def closed_port_url() -> str:
    """An edge service URL on 127.0.0.1 where nothing listens (bound once, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return (
        f"ws://127.0.0.1:{port}/consumer/speech/synthesise/readaloud/edge/v1?TrustedClientToken=x"
    )


@pytest.fixture(scope="session")
def _session_cache(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("voicer-cache")


@pytest.fixture(autouse=True)
def _cache_in_a_temporary_folder(monkeypatch: pytest.MonkeyPatch, _session_cache) -> None:
    """Renders share one cache per test session, never the user's."""
    monkeypatch.setenv("VOICER_CACHE_DIR", str(_session_cache))


@pytest.fixture(autouse=True)
def _edge_stays_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach the real service: edge requests go to a closed local port by default."""
    monkeypatch.setenv("VOICER_EDGE_URL", closed_port_url())


@pytest.fixture(scope="session")
def _edge_server_running() -> Iterator[EdgeServer]:
    with EdgeServer() as server:
        yield server


@pytest.fixture
def edge_server(
    _edge_server_running: EdgeServer,
    _edge_stays_on_loopback: None,
    _cache_in_a_temporary_folder: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[EdgeServer]:
    """The fake service, reset to normal and empty; VOICER_EDGE_URL points at it.

    Has ``.url``, ``.set_mode(mode, times=None)``, ``.set_faults(fraction, modes, seed=0)``,
    ``.set_pacing(latency, realtime)``, ``.hold()``, ``.release(answers=None)``,
    ``.requests``, ``.connections`` and
    ``.faults_injected``.
    """
    server = _edge_server_running
    server.reset()
    monkeypatch.setenv("VOICER_EDGE_URL", server.url)
    # every test meets the service afresh: no clips cached by an earlier test
    monkeypatch.setenv("VOICER_CACHE_DIR", str(tmp_path / "voicer-cache"))
    monkeypatch.delenv("VOICER_EDGE_TIMEOUT", raising=False)
    yield server
    server.reset()
    edge_tts.drm.DRM.clock_skew_seconds = 0.0  # a 403 makes edge-tts adjust its clock


@pytest.fixture
def held_edge(edge_server: EdgeServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[EdgeServer]:
    """The fake service, answering no synthesis request until the test calls
    ``.release(n)`` (n more answers) or ``.release()`` (every one from then on)."""
    monkeypatch.setenv("VOICER_EDGE_TIMEOUT", "300")  # a held request is not a timeout
    edge_server.hold()
    yield edge_server
    edge_server.release()


# --- faults: made for real (tests/faults.py) -------------------------------------------------


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """An empty 2 MB file system (a disk that fills up), unmounted after the test; the test is
    skipped where it cannot be mounted."""
    with faults.tmpfs(tmp_path / "small-tmpfs", "2m") as folder:
        yield folder
