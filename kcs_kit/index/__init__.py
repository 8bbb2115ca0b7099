"""Vector store (Chroma, embedded or server) behind the ``VectorIndex`` Protocol.

Importing this package loads no heavy library; chromadb is imported when an index is opened.

Example::

    >>> from kcs_kit.index import open_index
    >>> ix = open_index(settings, family="designs", encoder_name="minilm",   # doctest: +SKIP
    ...                 encoder_version=enc.version, dim=enc.dim)
    >>> ix.query(enc.encode_texts(["handbag"]), k=5)                         # doctest: +SKIP
"""

from kcs_kit.index.base import Hit, VectorIndex
from kcs_kit.index.chroma import drop_index, open_index

__all__ = ["Hit", "VectorIndex", "drop_index", "open_index"]
