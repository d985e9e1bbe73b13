"""The pipeline's stages: one module each, each a pure function from arrays to a dict of arrays."""
