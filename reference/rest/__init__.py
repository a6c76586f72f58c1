"""REST API v2 (`/v2/vectordb/...`, observed §8.2): another adapter over the same Application.

Nothing here is imported unless the server runs with `--http-port`, so the gRPC-only start-up
never pays for FastAPI/uvicorn.
"""
