"""What a remote user's browser receives (issue 20): the page and its websocket arrive compressed.

The bytes and latencies over shaped links are measured by ``bench/remote.py``; here a real server
(default settings) and Chromium check the two mechanisms behind them: the session websocket
negotiates permessage-deflate, and Bokeh's and Panel's JavaScript come gzip-encoded. Compression
is lossless, so every other browser test (lasso counts against numpy, colours, links) checks the
views through it.
"""

from __future__ import annotations

import time

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
        # no 1.8 MB MathJax bundle: the page holds no TeX (_compat.no_mathjax)
        assert not [url for url in encodings if "mathjax" in url], sorted(encodings)
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


def test_zooming_keeps_the_frame_and_sends_one_raster(dash):
    """Tick labels of another width must not resize the map's frame: a resized frame made the
    server render and send the old view again at the new size before the new one (one raster
    too many per zoom). A flick of wheel notches deep into the map (tick labels gain decimals)
    gives one new raster."""
    cdp = dash.page.context.new_cdp_session(dash.page)
    cdp.send("Network.enable")
    rasters: list[int] = []
    cdp.on(
        "Network.webSocketFrameReceived",
        lambda e: rasters.append(len(e["response"]["payloadData"])) if e["response"]["opcode"] == 2 else None,
    )
    before = dash.plot("coloured by")
    dash.page.mouse.move(before["left"] + before["width"] * 0.7, before["top"] + before["height"] * 0.3)
    for _ in range(8):
        dash.page.mouse.wheel(0, -120)
    deadline = time.monotonic() + 60
    while True:
        after = dash.plot("coloured by")
        if after["x"] != before["x"] and any(
            n * 3 / 4 >= after["width"] * after["height"] * 4 for n in rasters
        ):
            break
        assert time.monotonic() < deadline, (after, rasters)
        time.sleep(0.2)
    time.sleep(2.0)  # anything more that was coming
    assert (after["left"], after["width"]) == (before["left"], before["width"])
    big = [n for n in rasters if n * 3 / 4 >= after["width"] * after["height"] * 4]  # base64 → bytes
    assert len(big) == 1, rasters
    assert not dash.errors, dash.errors


def test_a_lasso_after_a_colour_by_keeps_the_maps_frame(browser, dashboard_server):
    """The colour bar's side panel has one width (COLOUR_BAR_PX). Before, it stayed sized for the
    previous colouring's tick labels until the page's next re-layout, which a lasso brought: the
    browser then reported a new frame width and the server sent both map layers again."""
    from galexplore.testing import lasso_middle

    context = browser.new_context(viewport={"width": 1500, "height": 1300})  # a page of its own: unzoomed
    try:
        dash = Dashboard(context.new_page(), dashboard_server.url)
        cdp = context.new_cdp_session(dash.page)
        cdp.send("Network.enable")
        sent: list[str] = []
        cdp.on("Network.webSocketFrameSent", lambda e: sent.append(e["response"]["payloadData"]))
        for column in ("log_ssfr", "ew_ha"):  # from wider tick labels to narrower ones
            dash.page.locator(".gx-color-by select").select_option(column)
            dash.plot(f"coloured by {column}")
            time.sleep(1.5)
        before = dash.map_plot()
        sent.clear()
        n, _, _ = lasso_middle(dash)
        assert n > 0
        time.sleep(2.5)  # anything more that was coming
        after = dash.map_plot()
        assert (after["left"], after["width"]) == (before["left"], before["width"])
        resized = f'{{"id":"{before["id"]}"}},"attr":"inner_width"'  # the map's frame, as BokehJS reports it
        assert not [f for f in sent if resized in f], [f[:200] for f in sent if resized in f]
        assert not dash.errors, dash.errors
    finally:
        context.close()


def test_the_first_page_carries_no_raster_at_a_guessed_size(browser, dashboard_server):
    """A served page starts with one-pixel placeholders for the map and the main sequence: each
    raster arrives once, at the size the browser laid its plot out at. Before, each was also
    rendered at a guessed 400 × 400 pixels, sent with the page and replaced at once (1.9 MB
    uncompressed at any N). The property histograms, at the foot of the page, are built only
    once the page is scrolled to them, in a grid that kept their place: the map's frame is
    reported once."""
    context = browser.new_context(viewport={"width": 1500, "height": 1300})
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        frames: list[tuple[str, int, str]] = []  # (direction, bytes, text head) in arrival order
        cdp.on(
            "Network.webSocketFrameReceived",
            lambda e: frames.append(
                ("in", len(e["response"]["payloadData"]), e["response"]["payloadData"][:300])
            ),
        )
        cdp.on(
            "Network.webSocketFrameSent",
            lambda e: frames.append(("out", 0, e["response"]["payloadData"][:300])),
        )
        dash = Dashboard(page, dashboard_server.url)  # waits for the map drawn at its size
        plots = {
            "map": dash.plot("galaxies coloured by", drawn=True),
            "ms": dash.plot("Main sequence", drawn=True),
        }
        time.sleep(2.0)  # anything more that was coming
        assert not [f for f in frames if f[0] == "in" and '"name":"Figure"' in f[2]], "histograms out of view"
        page.locator(".gx-distributions").first.scroll_into_view_if_needed()
        deadline = time.monotonic() + 60
        while page.locator(".gx-distributions .bk-Canvas, .gx-distributions canvas").count() == 0:
            assert time.monotonic() < deadline, "the histograms never filled in"
            time.sleep(0.25)
        time.sleep(1.0)
        sized = next(i for i, f in enumerate(frames) if f[0] == "out" and '"inner_width"' in f[2])

        def rasters(plot, part):  # binary frames of a base64 image the size of the plot's frame
            return [n for d, n, _ in part if d == "in" and n * 3 / 4 >= plot["width"] * plot["height"] * 4]

        smallest = min(plots.values(), key=lambda p: p["width"] * p["height"])
        assert rasters(smallest, frames[:sized]) == [], "a raster came with the page"
        assert len(rasters(smallest, frames[sized:])) == 2, rasters(smallest, frames[sized:])
        first_raster = next(
            i
            for i, (d, n, _) in enumerate(frames)
            if d == "in" and n * 3 / 4 >= smallest["width"] * smallest["height"] * 4
        )
        histograms = next(
            i for i, (d, _, head) in enumerate(frames) if d == "in" and '"name":"Figure"' in head
        )
        assert first_raster < histograms, "the histograms (below the fold) held up the map's first image"
        for plot in plots.values():
            reports = [
                f for f in frames if f[0] == "out" and f'{{"id":"{plot["id"]}"}},"attr":"inner_width"' in f[2]
            ]
            assert len(reports) == 2, reports  # BokehJS's 0 before layout, then the size: never resized
        assert not dash.errors, dash.errors
    finally:
        context.close()
