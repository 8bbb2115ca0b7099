"""Image, text and OCR encoders, one module per backend, behind the Protocols of ``kcs_kit.embed.base``.

Importing this package or a backend module loads no heavy library (torch, transformers, rapidocr...):
each backend imports what it needs when it first encodes or reads. Backends by name::

    >>> from kcs_kit.embed.base import get
    >>> get("text", "minilm", settings).encode_texts(["leather handbag"]).shape   # doctest: +SKIP
    (1, 384)
"""
