"""`python -m reference` behaves exactly like the `milvus-reference` console script."""

from reference.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
