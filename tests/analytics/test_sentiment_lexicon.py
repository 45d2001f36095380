from __future__ import annotations

from pathlib import Path

import pytest

from analytics.sentiment_lexicon import load_lexicon
from core.errors import DataError
from core.settings import REPO_ROOT, Settings

THRESHOLD = Settings(_env_file=None).sentiment_handoff_below


@pytest.fixture(scope="module")
def lexicon():  # type: ignore[no-untyped-def]
    return load_lexicon(REPO_ROOT / "data")


@pytest.mark.parametrize(
    "text",
    [
        "你们这什么破服务，气死我了！！！",
        "又停电了，三番五次的，到底有没有人管",
        "垃圾供电局，乱收费！！",
        "受够了，忍无可忍",
    ],
)
def test_angry_customers_are_strongly_negative(lexicon, text: str) -> None:  # type: ignore[no-untyped-def]
    assert lexicon.score(text) <= THRESHOLD


@pytest.mark.parametrize(
    "text",
    [
        "谢谢你们及时抢修恢复供电",
        "停电了怎么办",
        "电费怎么交",
        "我对这个月电费不太满意，能解释一下吗",
        "差不多就这样",
        "我不生气，就问一下",
    ],
)
def test_ordinary_and_mild_messages_are_not(lexicon, text: str) -> None:  # type: ignore[no-untyped-def]
    assert lexicon.score(text) > THRESHOLD


def test_negation_intensifiers_and_range(lexicon) -> None:  # type: ignore[no-untyped-def]
    assert lexicon.score("满意") > 0 > lexicon.score("不满意")
    assert lexicon.score("太差劲") < lexicon.score("差劲") < 0
    assert lexicon.score("服务不错，谢谢") > 0.5
    for text in ("", "😀" * 100, "电" * 5000, "<script>"):
        assert -1 <= lexicon.score(text) <= 1
    assert "气死" in lexicon.explain("气死我了")


def test_a_broken_lexicon_names_its_problems(tmp_path: Path) -> None:
    (tmp_path / "console").mkdir()
    (tmp_path / "console" / "sentiment_zh.yml").write_text("negative: {坏: 9}\npositive: []\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"negative\.坏.*positive") as problem:
        load_lexicon(tmp_path)
    assert "intensifiers" in str(problem.value)
