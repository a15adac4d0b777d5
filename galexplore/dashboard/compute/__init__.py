"""What the views compute, from arrays, the shared data and the session state: no widgets.

::

    raster.py          the map's Datashader rasters: frames, shading, spreading, selection mask
    spreading.py       spreading isolated pixels of a raster of means (array code)
    selection.py       lasso and box hit-testing, nearest galaxy
    cutouts.py         Lupton RGB and colour-mapped thumbnails
    profile_stack.py   stacked radial profiles of groups of galaxies
    similar.py         similarity search indexes shared by all sessions
"""
