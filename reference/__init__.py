"""Reference Milvus server: the Milvus gRPC protocol with documented authentication semantics."""
