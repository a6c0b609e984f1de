"""Scorers: pick one from the settings. Gemini with a key, else the offline rules (core/scoring/offline.py)."""

from __future__ import annotations

import logging

from core.clients.gemini import GeminiScorer, Scorer
from core.config import Settings
from core.scoring.offline import OfflineScorer

__all__ = ["OfflineScorer", "make_scorer"]


log = logging.getLogger(__name__)


def make_scorer(settings: Settings) -> Scorer:
    if not settings.gemini_api_key:
        return OfflineScorer()
    scorer = GeminiScorer(settings)
    if scorer.plan.note:  # an impossible GEMINI_THINKING_BUDGET for this model: said once, at startup
        log.warning("leadgram: %s", scorer.plan.note)
    return scorer
