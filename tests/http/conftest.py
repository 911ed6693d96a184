from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.http.live import LiveServer


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One sandbox server for the HTTP suite; quiet hours off, so sends answer ``queued``
    at any hour. Every test works on businesses of its own."""
    live = LiveServer.start(
        tmp_path_factory.mktemp("sandbox"), "--sandbox", NEARIQ_SMS_QUIET_HOURS="off"
    )
    yield live
    live.stop()
