"""The sentiment model: labelled data files, training, the JSON model file, and its accuracy on the domain
test set (which never overlaps the training files)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from analytics.satisfaction.sentiment import MODEL_FILE, evaluate, load_model, read_labelled, train
from analytics.sentiment_lexicon import load_lexicon
from core.errors import DataError, InvalidInput
from core.settings import REPO_ROOT

DATA = REPO_ROOT / "data" / "sentiment"
E5 = REPO_ROOT / "var" / "models" / "multilingual-e5-small"


def test_domain_test_set_is_kept_apart_and_balanced() -> None:
    test = read_labelled(DATA / "domain_test.csv")
    trained = set(read_labelled(DATA / "domain_train.csv").texts) | set(read_labelled(DATA / "public_sample.csv").texts)
    assert not set(test.texts) & trained
    assert len(test.texts) >= 100 and 0.4 <= test.labels.mean() <= 0.6
    assert len(read_labelled(DATA / "domain_train.csv").texts) >= 190


@pytest.mark.parametrize(
    "content, message",
    [
        ("label,text\n2,好\n", "label must be 0 or 1"),
        ("label,text\n1,\n", "non-empty"),
        ("label,text\n", "no labelled rows"),
        ("foo,bar\n1,2\n", "label must be 0 or 1"),
    ],
)
def test_malformed_labelled_files_name_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_labelled(path)
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataError, match="cannot read"):
        read_labelled(path)


def test_training_round_trips_through_json(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, 8)).astype(np.float32)
    labels = (vectors[:, 0] > 0).astype(np.int8)
    model = train(vectors, labels, "toy")
    assert evaluate(model.score_vectors(vectors), labels).accuracy > 0.95
    model.save(tmp_path / MODEL_FILE)
    again = load_model(tmp_path / MODEL_FILE)
    assert np.allclose(again.score_vectors(vectors), model.score_vectors(vectors), atol=1e-5)
    with pytest.raises(InvalidInput, match="both labels"):
        train(vectors, np.zeros(200, dtype=np.int8), "toy")
    with pytest.raises(InvalidInput, match="embedder"):
        again.score("停电了")
    (tmp_path / "broken.json").write_text(json.dumps({"weights": ["x"], "bias": 0, "embedder": "e"}))
    with pytest.raises(DataError, match="train-sentiment"):
        load_model(tmp_path / "broken.json")


def test_evaluation_counts() -> None:
    result = evaluate(np.array([-0.9, -0.1, 0.5, 0.7]), np.array([0, 1, 0, 1]))
    assert (result.accuracy, result.negative_recall, result.negative_precision) == (0.5, 0.5, 0.5)


@pytest.mark.skipif(not (E5 / "manifest.json").exists(), reason="the e5 embedder is built by `make setup`")
def test_shipped_model_beats_the_lexicon_on_the_domain_test_set() -> None:
    from knowledge.embedder import query_embedder

    test = read_labelled(DATA / "domain_test.csv")
    model = load_model(DATA / MODEL_FILE).with_embedder(query_embedder(E5))
    ours = evaluate(model.score_many(test.texts), test.labels)
    lexicon = load_lexicon(REPO_ROOT / "data")
    theirs = evaluate(np.array([lexicon.score(t) for t in test.texts]), test.labels, threshold=-0.05)
    assert ours.accuracy >= 0.9 and ours.accuracy > theirs.accuracy
    assert model.score("谢谢你们及时抢修恢复供电") > 0 > model.score("停电八个小时没人管，气死了")
    recorded = json.loads((DATA / "evaluation.json").read_text(encoding="utf-8"))
    assert recorded["model"]["accuracy"] == pytest.approx(ours.accuracy, abs=0.02)


def test_public_sample_has_its_sources() -> None:
    with (DATA / "public_sample.csv").open(encoding="utf-8") as handle:
        sources = {row["source"] for row in csv.DictReader(handle)}
    assert sources == {"waimai_10k", "ChnSentiCorp_htl_all"}
    assert "ChineseNlpCorpus" in (DATA / "README.md").read_text(encoding="utf-8")
