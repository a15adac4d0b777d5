"""The out-of-core explorer: surveys too big for one process's memory (``serve --out-of-core``).

::

    app.py      the page (OutOfCoreExplorer), when to use it, loading and warming up
    data.py     OutOfCoreData: the survey and run read through the map table
    table.py    the map table on disk: projection joined with the catalog, in map stripes
    build.py    building the map table part by part
    map.py      the embedding map over Dask DataFrames
    panels.py   main sequence, selection detail and export beside the map

It reuses the in-memory views where it can (:mod:`galexplore.dashboard.views`) and the page
(:mod:`galexplore.dashboard.page`); nothing in the in-memory explorer imports it except
:func:`galexplore.dashboard.app.create_app` and the server, when asked to serve out of core.
"""
