"""Pure-Python domain logic: no protobuf, no gRPC."""
