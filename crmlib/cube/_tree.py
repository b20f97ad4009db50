"""Drill-down trees from grouping-set results: decoding codes to labels, node paths, parents."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .star import NA_CODE, Star

TOTAL = "All"
SEP = " / "


def decode_path(star: Star, frame: pd.DataFrame, levels: Sequence[str]) -> pd.DataFrame:
    out = frame.copy()
    for lvl in levels:
        out[lvl] = star.decode(lvl, out[lvl].to_numpy())
    return out


def _label(star: Star, level: str, codes: np.ndarray) -> np.ndarray:
    values = star.decode(level, codes)
    return np.asarray(values.astype(str), dtype=object)


def _radix(reference: list[np.ndarray]) -> list[tuple[int, int]]:
    out = []
    for ref in reference:
        lo = int(ref.min()) if len(ref) else 0
        out.append((lo, int(ref.max()) - lo + 1 if len(ref) else 1))
    return out


def _combine(columns: list[np.ndarray], radix: list[tuple[int, int]]) -> np.ndarray:
    """One int64 per row identifying the combination of the integer columns."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for c, (lo, card) in zip(columns, radix, strict=True):
        key = key * card + (c - lo)
    return key


def build_tree(star: Star, by: list[str], levels: Sequence[str], parts: list[pd.DataFrame],
          measures: Sequence[str]) -> pd.DataFrame:
    """Stack the grouping sets of a drill-down (codes) into one tree frame, parents first."""
    depth = np.concatenate([np.full(len(p), d, dtype=np.int64) for d, p in enumerate(parts)])
    col = {}
    for name in [*by, *levels]:
        col[name] = np.concatenate([p[name].to_numpy(dtype=np.int64) if name in p.columns
                                    else np.full(len(p), NA_CODE, dtype=np.int64) for p in parts])
    order = np.lexsort([col[name] for name in reversed([*by, *levels])])  # NA_CODE sorts first
    depth = depth[order]
    col = {k: v[order] for k, v in col.items()}

    # node, parent and member as categoricals: labels are built once per distinct node
    node_code = np.zeros(len(depth), dtype=np.int64)
    parent_code = np.full(len(depth), -1, dtype=np.int64)
    labels, members = [TOTAL], [TOTAL]
    rows = [np.flatnonzero(depth == d) for d in range(len(levels) + 1)]
    radix = _radix([col[lvl][rows[len(levels)]] for lvl in levels]) if levels else []
    known = {0: (pd.Index(np.zeros(1, dtype=np.int64)), 0)}
    for d in range(1, len(levels) + 1):
        sel = rows[d]
        path = [col[lvl][sel] for lvl in levels[:d]]
        ids, uniq = pd.factorize(_combine(path, radix[:d]))
        first = np.zeros(len(uniq), dtype=np.int64)
        first[ids[::-1]] = np.arange(len(ids) - 1, -1, -1)
        texts = [_label(star, lvl, col[lvl][sel[first]]) for lvl in levels[:d]]
        text = texts[0]
        for more in texts[1:]:
            text = text + SEP + more
        offset = len(labels)
        labels.extend(text)
        members.extend(texts[-1])
        node_code[sel] = ids + offset
        known[d] = (pd.Index(uniq), offset)
        up_index, up_offset = known[d - 1]
        up = _combine(path[:-1], radix[:d - 1]) if d > 1 else np.zeros(len(sel), dtype=np.int64)
        parent_code[sel] = up_index.get_indexer(up) + up_offset
    node_cats, node_map = _unique_labels(labels)
    member_cats, member_map = _unique_labels(members)
    data = {name: star.decode(name, col[name]) for name in by}
    data["level"] = pd.Categorical.from_codes(depth, categories=["total", *levels])
    data["depth"] = depth
    data.update({lvl: star.decode(lvl, col[lvl]) for lvl in levels})
    data["member"] = pd.Categorical.from_codes(member_map[node_code], categories=member_cats)
    data["node"] = pd.Categorical.from_codes(node_map[node_code], categories=node_cats)
    data["parent"] = pd.Categorical.from_codes(
        np.where(parent_code >= 0, node_map[np.maximum(parent_code, 0)], -1), categories=node_cats)
    for m in measures:
        data[m] = np.concatenate([p[m].to_numpy() for p in parts])[order]
    return pd.DataFrame(data, copy=False)


def _unique_labels(labels: list[str]) -> tuple[list[str], np.ndarray]:
    codes, uniq = pd.factorize(np.asarray(labels, dtype=object))
    return list(uniq), np.asarray(codes, dtype=np.int64)
