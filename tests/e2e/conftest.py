"""One revsync stack (every service a real process) for the whole e2e session; each test makes
its own tenant(s) on it, so tests share processes, never data."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from revsync.devservers import DevServers

from tests.e2e.stack import E2EStack


@pytest.fixture(scope="session")
def stack(
    servers: DevServers, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[E2EStack]:
    running = E2EStack(servers.nats_url, database_url, Path(tmp_path_factory.mktemp("stack")))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def _processes_stay_up(stack: E2EStack) -> Iterator[None]:
    """A service that dies during a test fails that test, with its log."""
    yield
    stack.check_alive()
