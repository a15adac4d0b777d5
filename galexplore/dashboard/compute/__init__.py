"""What the views compute, from arrays, the shared data and the session state: no widgets.

::

    raster.py          the map's Datashader rasters: frames, shading, spreading, selection mask
    spreading.py       spreading isolated pixels of a raster of means (array code)
    colour_bins.py     numeric layers snapped to their colour bins (same colours, fewer bytes)
    selection.py       lasso and box hit-testing, nearest galaxy
    row_codes.py       catalog rows as compact URL text (a link's explicit id list)
    cutouts.py         Lupton RGB and colour-mapped thumbnails
    profile_stack.py   stacked radial profiles of groups of galaxies
    similar.py         similarity search indexes shared by all sessions
    typical.py         the most typical galaxy of a selection
    in_flight.py       one computation per key while it runs (clusters, anomaly scores)
"""
