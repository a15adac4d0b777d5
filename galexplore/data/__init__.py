"""Survey data: the store, the standard catalog columns, the synthetic survey and readers."""

from galexplore.data.columns import MAP_CHANNELS, SF_CLASSES, STANDARD_COLUMNS, sf_class
from galexplore.data.store import ModalitySpec, Survey, open_survey
from galexplore.data.writer import SurveyWriter, write_catalog, write_survey

__all__ = [
    "MAP_CHANNELS",
    "SF_CLASSES",
    "STANDARD_COLUMNS",
    "ModalitySpec",
    "Survey",
    "SurveyWriter",
    "open_survey",
    "sf_class",
    "write_catalog",
    "write_survey",
]
