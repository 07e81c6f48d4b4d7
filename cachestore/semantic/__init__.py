"""Semantic caching: the local embedder and the second-stage verifier.

Import the submodules directly; the embedder pulls in onnxruntime, which the
verifier does not need.
"""
