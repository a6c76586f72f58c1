"""The conformance tests.

Run via `milvus-conformance run` or `pytest --pyargs conformance.suite --milvus-target T`.
"""
