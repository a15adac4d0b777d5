"""The galexplore dashboard: Panel, HoloViews, Datashader and Bokeh views of a survey and a run.

This is the only package that imports Panel/HoloViews/Bokeh/Datashader. Import the app with::

    from galexplore.dashboard.app import Explorer, create_app, load_data

::

    data.py, state.py   what every session shares (ExplorerData) and what one session owns (ExplorerState)
    page.py, app.py     the page both explorers share; the in-memory explorer
    server.py           serving (exposure checks, warm-up, processes)
    url_state.py        the URL holds the view
    views/              one Viewer per linked view
    compute/            what the views compute (rasters, selections, thumbnails, profiles)
    ooc/                the out-of-core explorer
    _compat.py          every patch of Bokeh/Panel internals, each tested (tests/dashboard/test_compat.py)
"""
