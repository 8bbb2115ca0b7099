"""Seeded synthetic data, labelled synthetic wherever it is stored or shown (see docs/SYNTHETIC.md).

- ``synth_goods_lines`` / ``build_goods_lines``: goods lines with brand claims and IPR outcomes calibrated
  to published KCS figures, for the declarations in the lake (``kcs lake synth``);
- ``synth_declarations``: whole declarations in the canonical schema for benchmarks, up to 10,000,000
  rows, streamed in chunks (``kcs lake synth-declarations``).

Example::

    >>> from kcs_kit.lake.synth import CALIBRATION
    >>> CALIBRATION.cn_hk_share
    0.953
"""

from __future__ import annotations

from kcs_kit.lake.synth_declarations import synth_declarations
from kcs_kit.lake.synth_goods import (
    CALIBRATION,
    GENERATOR,
    Calibration,
    SynthSummary,
    build_goods_lines,
    synth_goods_lines,
)

__all__ = ["CALIBRATION", "GENERATOR", "Calibration", "SynthSummary", "build_goods_lines", "synth_declarations",
           "synth_goods_lines"]
