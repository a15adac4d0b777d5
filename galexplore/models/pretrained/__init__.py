"""Pretrained encoders of the field behind one small interface (DESIGN §7).

``galexplore embed SURVEY RUN --pretrained NAME [--weights PATH]`` on the command line,
:func:`embed_pretrained` here. Names: ``timm:<arch>`` (any timm backbone), ``zoobot:<name>``
(Zoobot 2's encoders), ``astropt:<size>`` (AstroPT), ``aion:<size>`` (AION-1). The packages
are the optional extra ``pip install "galexplore[pretrained]"``.
"""

from galexplore.models.pretrained.base import ADAPTERS, PretrainedEncoder
from galexplore.models.pretrained.run import embed_pretrained, embed_survey, parse_name
from galexplore.models.pretrained.weights import MissingWeightsError

__all__ = [
    "ADAPTERS",
    "MissingWeightsError",
    "PretrainedEncoder",
    "embed_pretrained",
    "embed_survey",
    "parse_name",
]
