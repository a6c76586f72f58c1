"""Translation between the Milvus gRPC protocol and the domain."""
