"""The design/mark registry: import registry packages, render views, keep versions and status.

Modules: ``package`` (read and validate designs.csv), ``images`` (check and render one view),
``store`` (DuckDB tables, import, list/show/withdraw/expire), ``demo`` (simple-icons as a package).
Importing this package loads nothing heavy.
"""
