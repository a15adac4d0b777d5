"""The galexplore dashboard: Panel, HoloViews, Datashader and Bokeh views of a survey and a run.

This is the only package that imports Panel/HoloViews/Bokeh/Datashader. Import the app with::

    from galexplore.dashboard.app import Explorer, create_app, load_data
"""
