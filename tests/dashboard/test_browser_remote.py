"""What a remote user's browser receives (issue 20): the page and its websocket arrive compressed.

The bytes and latencies over shaped links are measured by ``bench/remote.py``; here a real server
(default settings) and Chromium check the two mechanisms behind them: the session websocket
negotiates permessage-deflate, and Bokeh's and Panel's JavaScript come gzip-encoded. Compression
is lossless, so every other browser test (lasso counts against numpy, colours, links) checks the
views through it.
"""

from __future__ import annotations

import pytest

from galexplore.testing import Dashboard

pytestmark = pytest.mark.browser


def test_the_page_and_its_websocket_arrive_compressed(browser, dashboard_server):
    context = browser.new_context(viewport={"width": 1500, "height": 1300})
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        handshakes: list[dict] = []
        cdp.on("Network.webSocketHandshakeResponseReceived", lambda e: handshakes.append(e["response"]))
        encodings: dict[str, str | None] = {}
        page.on(
            "response", lambda r: encodings.setdefault(r.url.split("?")[0], r.headers.get("content-encoding"))
        )
        dash = Dashboard(page, dashboard_server.url)
        dash.plot("coloured by")
        (hs,) = handshakes
        headers = {k.lower(): v for k, v in hs["headers"].items()}
        assert hs["status"] == 101
        assert "permessage-deflate" in headers.get("sec-websocket-extensions", ""), headers
        scripts = {url: enc for url, enc in encodings.items() if url.endswith((".min.js", "/explorer"))}
        assert any(url.endswith("/static/js/bokeh.min.js") for url in scripts), sorted(encodings)
        assert set(scripts.values()) == {"gzip"}, scripts
        assert not dash.errors, dash.errors
    finally:
        context.close()


def test_the_favicon_is_small(dashboard_server):
    """Browsers ask for it again after each link update (the URL follows the view)."""
    import urllib.request

    from galexplore.dashboard.server import FAVICON

    with urllib.request.urlopen(dashboard_server.url.replace("/explorer", "/favicon.ico"), timeout=30) as r:
        icon = r.read()
    assert icon == FAVICON.read_bytes() and len(icon) < 4096
