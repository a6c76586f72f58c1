"""Conformance suite for Milvus user authentication: catalogue, oracles, drivers, targets."""
