import threading

import numpy as np
import pytest

from knowledge_base.embedder import CachedEmbedder
from tests.fakes import FakeEmbedder


def test_a_cached_embedder_embeds_each_text_once_and_forgets_the_least_recently_used():
    inner = FakeEmbedder()
    embedder = CachedEmbedder(inner, max_texts=3)
    first = embedder.embed(["refunds", "returns", "refunds"])
    assert inner.calls == [["refunds", "returns"]]
    np.testing.assert_array_equal(first, inner.embed(["refunds", "returns", "refunds"]))
    inner.calls.clear()

    again = embedder.embed(["returns", "delivery"])
    assert inner.calls == [["delivery"]]
    np.testing.assert_array_equal(again, inner.embed(["returns", "delivery"]))
    inner.calls.clear()

    embedder.embed(["refunds", "invoices"])  # "refunds" used last: "returns" is the least recently used, and goes
    embedder.embed(["refunds", "delivery", "invoices"])
    embedder.embed(["returns"])
    assert inner.calls == [["invoices"], ["returns"]]
    assert embedder.embed([]).shape == (0, inner.dimension)
    assert (embedder.name, embedder.dimension) == (inner.name, inner.dimension)


def test_a_cached_embedder_serves_threads_at_once():
    inner = FakeEmbedder()
    embedder = CachedEmbedder(inner, max_texts=50)
    texts = [f"sentence {n}" for n in range(80)]
    results = {}

    def ask(worker):
        results[worker] = embedder.embed(texts[worker * 10 : worker * 10 + 30])

    threads = [threading.Thread(target=ask, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker, vectors in results.items():
        np.testing.assert_array_equal(vectors, inner.embed(texts[worker * 10 : worker * 10 + 30]))


def test_a_cache_of_no_texts_is_refused():
    with pytest.raises(ValueError, match="max_texts must be at least 1, got 0"):
        CachedEmbedder(FakeEmbedder(), max_texts=0)
