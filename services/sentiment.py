"""Which sentiment scorer a process uses: the trained model (e5 + logistic regression) or the word list.

Light to import (numpy and YAML only); the embedder is loaded when asked for.
"""

from __future__ import annotations

from analytics.satisfaction.sentiment import MODEL_FILE, SentimentModel, load_model
from analytics.sentiment_lexicon import SentimentScorer, load_lexicon
from core.errors import ConfigError
from core.settings import Settings


def sentiment_model(settings: Settings) -> SentimentModel | None:
    """The trained model with its embedder, or None when the model file is missing."""
    path = settings.data_dir / "sentiment" / MODEL_FILE
    if not path.exists():
        return None
    from knowledge.embedder import query_embedder
    from knowledge.service import embedder_path

    return load_model(path).with_embedder(query_embedder(embedder_path(settings)))


def handoff_scorer(settings: Settings) -> SentimentScorer:
    """The console's handoff sentiment signal: the word list (default) or the model (HANDOFF_SENTIMENT=model)."""
    if settings.handoff_sentiment == "lexicon":
        return load_lexicon(settings.data_dir)
    model = sentiment_model(settings)
    if model is None:
        raise ConfigError(
            f"HANDOFF_SENTIMENT=model needs {settings.data_dir / 'sentiment' / MODEL_FILE}; "
            "train it with `powerdesk report train-sentiment` or set HANDOFF_SENTIMENT=lexicon"
        )
    return model
