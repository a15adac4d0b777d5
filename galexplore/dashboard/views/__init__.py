"""The linked views: one :class:`panel.viewable.Viewer` per view, each reading and writing one
session's :class:`~galexplore.dashboard.state.ExplorerState`.

::

    embedding_map.py   EmbeddingMap     the rasterised UMAP, lasso / box / tap, hover ring
    map_controls.py    (helpers)        the map's selection-mode switch and categorical legend
    main_sequence.py   MainSequence     log SFR against log M*, the selection on top
    gallery.py         Gallery          cutouts of the selection (cutout_grid.py: its grid)
    galaxy_maps.py     GalaxyFocus      the galaxy in focus: maps, cutout, row, "find similar"
    profiles.py        RadialProfiles   stacked radial profiles, selection against the rest
    distributions.py   Distributions    property histograms, selection against the survey
    clusters.py        ClusterControls  clusters on demand, with a summary table
    anomaly.py         UnusualGalaxies  anomaly scores on demand: colour by them, select the most unusual
    tags.py            TagControls      name the selection, select or colour by the run's tags
    export.py          Export           the selection as CSV / FITS / VOTable
    find.py            FindGalaxy       a galaxy by id or RA Dec [radius]: focus it, centre the map
    color_menu.py      GroupedSelect    the colour-by menu, grouped, with readable labels and units
    formatting.py      format_value     how every view writes numbers (RA/Dec, z, log quantities …)

A view holds widgets and plots only; what it computes is in :mod:`galexplore.dashboard.compute`.
``docs/architecture.md`` shows how to add one.
"""
