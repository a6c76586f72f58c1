"""Drivers: how the suite talks to a target (raw gRPC `wire`, pymilvus `sdk`)."""
