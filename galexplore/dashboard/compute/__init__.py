"""What the views compute, as functions of arrays and the shared data: no widgets, no session.

::

    spreading.py       spreading isolated pixels of a raster of means (array code)
    selection.py       lasso and box hit-testing, nearest galaxy
    cutouts.py         Lupton RGB and colour-mapped thumbnails
    profile_stack.py   stacked radial profiles of groups of galaxies
    similar.py         similarity search indexes shared by all sessions
"""
