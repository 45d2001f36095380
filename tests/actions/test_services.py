"""The action server's services: knowledge searches from many worker threads run on one thread."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from actions.services import OneThreadRetriever


class RecordingRetriever:
    entries = ["e1"]

    def __init__(self) -> None:
        self.threads: set[str] = set()

    def search(self, query: str, k: int = 5) -> Any:
        self.threads.add(threading.current_thread().name)
        return (query, k)


def test_searches_from_many_threads_share_one_thread() -> None:
    inner = RecordingRetriever()
    retriever = OneThreadRetriever(inner)
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda i: retriever.search(f"q{i}", k=3), range(30)))
    assert results == [(f"q{i}", 3) for i in range(30)]
    assert len(inner.threads) == 1 and next(iter(inner.threads)).startswith("knowledge")
    assert retriever.entries == ["e1"]
