"""The local embedder: offline, 384 unit-length dimensions, meaningful distances."""

import socket

import numpy as np
import pytest

from cachestore.semantic.embedder import DIMENSIONS, LocalEmbedder, local_embedder


@pytest.fixture(scope="module")
def offline():
    """Fail any connection attempt while the embedder loads and runs."""
    patch = pytest.MonkeyPatch()
    patch.setenv("HF_HUB_OFFLINE", "1")
    patch.setenv("TRANSFORMERS_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise AssertionError("the embedder tried to open a network connection")

    patch.setattr(socket.socket, "connect", refuse)
    patch.setattr(socket, "create_connection", refuse)
    yield
    patch.undo()


@pytest.fixture(scope="module")
def embedder(offline):
    return LocalEmbedder()


def cosine(embedder, first, second):
    vectors = embedder.embed([first, second])
    return float(vectors[0] @ vectors[1])


def test_loads_offline_and_reports_its_size(embedder):
    assert embedder.dimensions == DIMENSIONS == 384
    assert embedder.model_id == "all-MiniLM-L6-v2-onnx-int8"


def test_embeddings_are_float32_unit_vectors(embedder):
    vectors = embedder.embed(["How do I reset my password?", "What is the capital of France?", ""])

    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_no_texts_give_an_empty_matrix(embedder):
    assert embedder.embed([]).shape == (0, 384)


def test_a_paraphrase_is_closer_than_an_unrelated_question(embedder):
    paraphrase = cosine(embedder, "How do I reset my password?", "I forgot my password, how can I reset it?")
    unrelated = cosine(embedder, "How do I reset my password?", "What is the capital of France?")

    assert paraphrase > 0.8
    assert unrelated < 0.3


def test_a_text_embeds_the_same_alone_and_in_a_padded_batch(embedder):
    alone = embedder.embed_one("Convert 5 miles to km.")
    batched = embedder.embed(["Convert 5 miles to km.", "A much longer text " * 20])[0]

    np.testing.assert_allclose(alone, batched, atol=1e-4)


def test_a_long_text_is_truncated_not_refused(embedder):
    vectors = embedder.embed(["word " * 2000])

    assert vectors.shape == (1, 384)
    assert np.isfinite(vectors).all()


def test_batches_larger_than_the_batch_size_keep_their_order(offline):
    small_batches = LocalEmbedder(batch_size=2)
    texts = ["one apple", "two pears", "three plums", "four figs", "five limes"]

    vectors = small_batches.embed(texts)

    np.testing.assert_allclose(vectors[3], small_batches.embed_one("four figs"), atol=1e-4)


def test_the_factory_returns_one_shared_instance(offline):
    assert local_embedder() is local_embedder()


def test_the_quantized_model_is_written_once_and_embeds_as_the_packaged_one_does(offline, embedder, tmp_path):
    texts = ["How do I reset my password?", "Convert 5 miles to km.", "word " * 300, "¿Dónde está mi pedido?"]
    from_cache = LocalEmbedder(model_cache_dir=tmp_path)
    (written,) = tmp_path.glob("*.onnx")
    written_at = written.stat().st_mtime_ns
    again = LocalEmbedder(model_cache_dir=tmp_path)

    # int8 MatMuls: the same direction within quantization's error, not the same floats. One text
    # at a time, as requests are embedded (in a padded batch the activations' scales are shared).
    for text in texts:
        assert float(from_cache.embed_one(text) @ embedder.embed_one(text)) > 0.98
    np.testing.assert_allclose(again.embed(texts), from_cache.embed(texts), atol=1e-6)
    assert "dynamic-int8-per-channel" in written.name
    assert written.stat().st_mtime_ns == written_at
    assert written.stat().st_size < 30 * 2**20  # int8 weights, not the 90 MB of folded float32
    assert not [path for path in tmp_path.iterdir() if path != written]  # no partial or float leftovers


def test_an_unwritable_model_cache_falls_back_to_the_original(offline, embedder, tmp_path):
    blocked = tmp_path / "file-in-the-way"
    blocked.write_text("")
    fallback = LocalEmbedder(model_cache_dir=blocked / "models")

    np.testing.assert_allclose(fallback.embed_one("four figs"), embedder.embed_one("four figs"), atol=1e-5)


def test_a_damaged_optimised_model_is_replaced_by_the_original(offline, embedder, tmp_path):
    LocalEmbedder(model_cache_dir=tmp_path)
    (written,) = tmp_path.glob("*.onnx")
    written.write_bytes(b"not a model")

    recovered = LocalEmbedder(model_cache_dir=tmp_path)

    np.testing.assert_allclose(recovered.embed_one("four figs"), embedder.embed_one("four figs"), atol=1e-5)
    assert not written.exists()  # dropped, so the next start writes it again
