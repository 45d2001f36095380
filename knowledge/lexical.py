"""BM25 over jieba tokens (bm25s), the lexical half of retrieval."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import bm25s
import jieba
import numpy as np
import numpy.typing as npt

_KEEP = re.compile(r"[\w\u4e00-\u9fff]")


class ChineseTokenizer:
    """jieba (search mode) with the project's domain dictionary; punctuation and stopwords dropped."""

    def __init__(self, dictionaries: Sequence[Path] = (), stopwords: Path | None = None) -> None:
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        for path in dictionaries:
            self._jieba.load_userdict(str(path))
        self._stop = set(stopwords.read_text(encoding="utf-8").split()) if stopwords and stopwords.exists() else set()

    def __call__(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFKC", text).lower()
        tokens = []
        for token in self._jieba.cut_for_search(text):
            token = token.strip()
            if token and _KEEP.search(token) and token not in self._stop:
                tokens.append(token)
        return tokens


class LexicalIndex:
    def __init__(self, tokenizer: ChineseTokenizer, texts: Sequence[str]) -> None:
        self.tokenizer = tokenizer
        self._bm25 = bm25s.BM25()
        corpus = [tokenizer(t) or ["∅"] for t in texts]
        self._bm25.index(corpus, show_progress=False)
        self._vocab = set(self._bm25.vocab_dict)

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        """BM25 score of every indexed text for the query (zeros when no query token is known)."""
        tokens = [t for t in self.tokenizer(query) if t in self._vocab]
        if not tokens:
            return np.zeros(self._bm25.scores["num_docs"], dtype=np.float32)
        return self._bm25.get_scores(tokens).astype(np.float32)
