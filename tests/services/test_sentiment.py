from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analytics.satisfaction.sentiment import SentimentModel
from analytics.sentiment_lexicon import Lexicon
from core.errors import ConfigError
from core.settings import REPO_ROOT, Settings
from services.sentiment import handoff_scorer

E5 = REPO_ROOT / "var" / "models" / "multilingual-e5-small"


def test_the_lexicon_stays_the_default_and_the_model_is_refused_without_its_file(tmp_path: Path) -> None:
    assert isinstance(handoff_scorer(Settings(_env_file=None)), Lexicon)
    shutil.copytree(REPO_ROOT / "data" / "console", tmp_path / "console")
    settings = Settings(handoff_sentiment="model", data_dir=tmp_path, _env_file=None)
    with pytest.raises(ConfigError, match="train-sentiment"):
        handoff_scorer(settings)


@pytest.mark.skipif(not (E5 / "manifest.json").exists(), reason="the e5 embedder is built by `make setup`")
def test_the_model_stands_in_for_the_lexicon() -> None:
    scorer = handoff_scorer(Settings(handoff_sentiment="model", embedding_model=str(E5), _env_file=None))
    assert isinstance(scorer, SentimentModel)
    threshold = Settings(_env_file=None).sentiment_handoff_below
    assert scorer.score("停电八个小时都没人来修，你们到底管不管，我要投诉") <= threshold
    assert scorer.score("请问峰谷电价怎么申请") > threshold
