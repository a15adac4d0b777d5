"""The built-in synthetic eCALIFA-like survey (DESIGN §4).

>>> from galexplore.data.synthetic import synthesize
>>> survey = synthesize(400, "survey/", seed=7)          # doctest: +SKIP
"""

from galexplore.data.synthetic.population import draw_population, main_sequence
from galexplore.data.synthetic.survey import STRUCTURAL_TRUTHS, SynthConfig, synthesize

__all__ = ["STRUCTURAL_TRUTHS", "SynthConfig", "draw_population", "main_sequence", "synthesize"]
