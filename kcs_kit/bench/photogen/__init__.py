"""SYNTHETIC phone-like photos of goods for measuring matching: ``write_query_package`` (DESIGN.md query package).

Modules: ``textures`` (noise, materials, grounds), ``clutter`` (objects, labels, occluders), ``products``
(silhouettes and surface maps), ``marks`` (masks, alterations, styles), ``camera`` (light, blur, noise, JPEG,
EXIF), ``scene`` (one photo), ``package`` (the queries), ``report`` (README, contact sheet).
"""

from kcs_kit.bench.photogen.package import QueryPackageSummary, write_query_package

__all__ = ["QueryPackageSummary", "write_query_package"]
