"""A drawable network of repeat offenders: importers, sellers, declarants, brands and routes.

``network_layout`` turns the edge table of ``entity_links`` into node and edge frames with positions
(networkx spring layout, seeded); ``kcs_kit.analytics.charts.network_chart`` draws them.

Example::

    >>> from kcs_kit.analytics import entity_links
    >>> from kcs_kit.analytics.network import network_layout
    >>> nodes, edges = network_layout(entity_links(settings, min_weight=1), max_nodes=60)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kcs_kit.errors import SchemaError

if TYPE_CHECKING:
    import polars as pl

EDGE_COLUMNS = ("source_type", "source_id", "target_type", "target_id", "weight", "confirmed")


def _keep(g, degree: dict, max_nodes: int, per_party: int = 6) -> list[str]:
    """The most connected importers and sellers, each with its ``per_party`` heaviest links (brands, routes,
    sellers, declarants), until ``max_nodes``: the repeat offenders and what links them, not the busiest
    brokers or brands."""
    keep: dict[str, None] = {}
    parties = sorted((n for n in g.nodes if g.nodes[n]["type"] in ("importer", "seller")),
                     key=lambda n: (-degree[n], n))
    for n in parties:
        near = sorted(g.neighbors(n), key=lambda m: (-g.edges[n, m]["weight"], -degree[m], m))[:per_party]
        group = [n, *near]
        if len(keep) + len(group) > max_nodes and keep:
            break
        keep.update(dict.fromkeys(group))
    return list(keep)[:max_nodes]


def network_layout(links: pl.DataFrame, *, max_nodes: int = 80, seed: int = 42
                   ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(nodes, edges): the most connected parties (weighted degree) with their neighbours, at most
    ``max_nodes``, and the edges among them.

    nodes: node, type, label, x, y, degree (flagged lines over its edges), confirmed, synthetic;
    edges: source, target, weight, confirmed, x, y, x2, y2. Positions are in [-1, 1], the same for the same
    input and seed.
    """
    import networkx as nx
    import polars as pl

    missing = [c for c in EDGE_COLUMNS if c not in links.columns]
    if missing:
        raise SchemaError(f"network: expected the columns of entity_links, missing {', '.join(missing)}")
    g = nx.Graph()
    for r in links.iter_rows(named=True):
        a, b = f"{r['source_type']}:{r['source_id']}", f"{r['target_type']}:{r['target_id']}"
        g.add_node(a, type=r["source_type"], label=str(r["source_id"]))
        g.add_node(b, type=r["target_type"], label=str(r["target_id"]))
        w0 = g.edges[a, b]["weight"] if g.has_edge(a, b) else 0
        c0 = g.edges[a, b]["confirmed"] if g.has_edge(a, b) else 0
        g.add_edge(a, b, weight=w0 + r["weight"], confirmed=c0 + r["confirmed"])
    degree = dict(g.degree(weight="weight"))
    sub = g.subgraph(_keep(g, degree, max_nodes))
    pos = nx.rescale_layout_dict(nx.spring_layout(sub, seed=seed, weight=None, iterations=200,
                                                  k=2 / max(len(sub), 1) ** 0.5)) if len(sub) > 1 else \
        {n: (0.0, 0.0) for n in sub}
    synthetic = "synthetic" in links.columns and bool(links["synthetic"].fill_null(False).any())
    nodes = pl.DataFrame(
        [{"node": n, "type": sub.nodes[n]["type"], "label": sub.nodes[n]["label"], "x": float(pos[n][0]),
          "y": float(pos[n][1]), "degree": int(degree[n]),
          "confirmed": int(sum(d["confirmed"] for _a, _b, d in sub.edges(n, data=True))), "synthetic": synthetic}
         for n in sorted(sub.nodes)],
        schema={"node": pl.String, "type": pl.String, "label": pl.String, "x": pl.Float64, "y": pl.Float64,
                "degree": pl.Int64, "confirmed": pl.Int64, "synthetic": pl.Boolean})
    edges = pl.DataFrame(
        [{"source": a, "target": b, "weight": int(d["weight"]), "confirmed": int(d["confirmed"]),
          "x": float(pos[a][0]), "y": float(pos[a][1]), "x2": float(pos[b][0]), "y2": float(pos[b][1])}
         for a, b, d in sorted(sub.edges(data=True))],
        schema={"source": pl.String, "target": pl.String, "weight": pl.Int64, "confirmed": pl.Int64,
                "x": pl.Float64, "y": pl.Float64, "x2": pl.Float64, "y2": pl.Float64})
    return nodes, edges
