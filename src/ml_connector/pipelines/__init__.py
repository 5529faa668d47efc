"""Pipelines: the I/O glue of each flow. They read a source through its client, map with the pure `flows`,
and write through the `engine`; nothing here decides how a record maps or how a write is made safe."""
