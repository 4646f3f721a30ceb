"""The engine's compiled kernels (numba): the inner loops that cost the most in Python or in numpy's small
arrays, over plain arrays.

Each kernel gives the floats of the numpy expression it replaced, to the last bit: plans depend on ties and
thresholds, and a plan must not change because its arithmetic moved into a loop. ``np.cumsum`` adds one
value after another, and ``np.sum`` along a contiguous axis adds pairwise (:func:`pairwise_sum` is that
summation, step for step).

They all live in this one module because numba's on-disk cache knows a function by its own file only: a
kernel whose callee changed in another file would load stale machine code.
"""

from __future__ import annotations

import heapq

import numba
import numpy as np

#: Below this many values numpy adds them one after another; up to ``_PAIRWISE_BLOCK`` in eight running
#: sums; beyond, it halves (numpy's ``pairwise_sum`` in ``loops_utils.h``).
_UNROLL, _PAIRWISE_BLOCK = 8, 128
#: Deep enough for the halvings of any array numpy can hold.
_STACK = 256


@numba.njit(cache=True)
def pairwise_sum(values, start, count):
    """The sum of ``values[start:start + count]`` as ``numpy.sum`` rounds it along a contiguous axis.

    numpy halves a long run recursively; here the halves are taken from a stack (numba's cache does not
    keep recursive functions safely): each run is pushed again, marked, under its two halves, and
    adds their two sums when it comes back up.
    """
    if count <= _PAIRWISE_BLOCK:
        return _block_sum(values, start, count)
    starts, counts = np.empty(_STACK, dtype=np.int64), np.empty(_STACK, dtype=np.int64)
    halved = np.zeros(_STACK, dtype=np.bool_)
    sums = np.empty(_STACK)
    starts[0], counts[0], tasks, done = start, count, 1, 0
    while tasks:
        tasks -= 1
        s, c, h = starts[tasks], counts[tasks], halved[tasks]
        if c <= _PAIRWISE_BLOCK:
            sums[done] = _block_sum(values, s, c)
            done += 1
        elif h:
            done -= 1
            sums[done - 1] = sums[done - 1] + sums[done]
        else:
            half = c // 2
            half -= half % _UNROLL
            halved[tasks] = True
            starts[tasks + 1], counts[tasks + 1], halved[tasks + 1] = s + half, c - half, False
            starts[tasks + 2], counts[tasks + 2], halved[tasks + 2] = s, half, False
            tasks += 3
    return sums[0]


@numba.njit(cache=True)
def _block_sum(values, start, count):
    """numpy's sum of a run of at most ``_PAIRWISE_BLOCK`` values: one after another below ``_UNROLL``, else
    in eight running sums added in pairs, then the rest one after another."""
    if count < _UNROLL:
        total = 0.0
        for i in range(start, start + count):
            total += values[i]
        return total
    r0, r1, r2, r3 = values[start], values[start + 1], values[start + 2], values[start + 3]
    r4, r5, r6, r7 = values[start + 4], values[start + 5], values[start + 6], values[start + 7]
    i, whole = _UNROLL, count - count % _UNROLL
    while i < whole:
        j = start + i
        r0, r1, r2, r3 = r0 + values[j], r1 + values[j + 1], r2 + values[j + 2], r3 + values[j + 3]
        r4, r5, r6, r7 = r4 + values[j + 4], r5 + values[j + 5], r6 + values[j + 6], r7 + values[j + 7]
        i += _UNROLL
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < count:
        total += values[start + i]
        i += 1
    return total


@numba.njit(cache=True)
def cut_profiles_of(indptr, indices, cost, orders, n_all):
    """:func:`._bisection.cut_profiles` over the CSR adjacency of ``n_all`` atoms.

    The cost is a running sum over each atom's neighbours in the order of the adjacency: the first term is
    taken as it is, each later one added, as ``numpy.cumsum`` did (identical floats, identical ties).
    Connectivity by union-find: the prefixes as their atoms are added in order, the suffixes in reverse.
    """
    rows, n = orders.shape
    valid = np.zeros((rows, n), dtype=np.bool_)
    cut = np.zeros((rows, n))
    position = np.full(n_all, -1, dtype=np.int64)
    parent = np.empty(n, dtype=np.int64)
    suffix = np.empty(n + 1, dtype=np.bool_)
    for r in range(rows):
        order = orders[r]
        for t in range(n):
            position[order[t]] = t
        total, started = 0.0, False
        for t in range(n):
            a = order[t]
            for e in range(indptr[a], indptr[a + 1]):
                u = position[indices[e]]
                term = 0.0 if u < 0 else -cost[e] if u < t else cost[e]
                total = total + term if started else term
                started = True
            cut[r, t] = total
        suffix[n] = True
        _joined_in_order(indptr, indices, position, order, parent, suffix, False)
        _joined_in_order(indptr, indices, position, order, parent, valid[r], True)
        for t in range(n - 1):
            valid[r, t] = valid[r, t] and suffix[t + 1]
        if n:
            valid[r, n - 1] = False
        for t in range(n):
            position[order[t]] = -1
    return valid, cut


@numba.njit(cache=True)
def _joined_in_order(indptr, indices, position, order, parent, connected, forward):
    """Add the atoms of ``order`` one by one (from the first, ``forward``, or from the last), joining each to
    the neighbours added before it; ``connected[t]``: whether the atoms added so far are one piece."""
    n = len(order)
    for t in range(n):
        parent[t] = t
    parts = 0
    for i in range(n):
        t = i if forward else n - 1 - i
        parts += 1
        for e in range(indptr[order[t]], indptr[order[t] + 1]):
            u = position[indices[e]]
            if u >= 0 and (u < t if forward else u > t):
                ra, rb = _root(parent, t), _root(parent, u)
                if ra != rb:
                    parent[ra] = rb
                    parts -= 1
        connected[t] = parts == 1


@numba.njit(cache=True)
def _root(parent, a):
    """The root of ``a``'s set (halving the path to it)."""
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


@numba.njit(cache=True)
def cut_excess(w, x, y, reach, limit, cuts):
    """:func:`._radius._prefix_excess` of the atoms ``w, x, y, reach`` in their order; each side's sums over all the
    atoms with the other side's as zeros, as the numpy expression before it summed them (identical floats)."""
    n = len(w)
    wx, wy = w * x, w * y
    row_w, row_x, row_y = np.empty(n), np.empty(n), np.empty(n)
    excess = np.zeros(len(cuts))
    for k in range(len(cuts)):
        for side in range(2):
            for j in range(n):
                member = 1.0 if (j <= cuts[k]) == (side == 0) else 0.0
                row_w[j], row_x[j], row_y[j] = member * w[j], member * wx[j], member * wy[j]
            sw = pairwise_sum(row_w, 0, n)
            sw = sw if sw > 0 else 1.0
            cx, cy = pairwise_sum(row_x, 0, n) / sw, pairwise_sum(row_y, 0, n) / sw
            radius = -np.inf
            for j in range(n):
                if (j <= cuts[k]) == (side == 0):
                    radius = max(radius, np.hypot(x[j] - cx, y[j] - cy) + reach[j])
            excess[k] += max(0.0, radius - limit)
    return excess


@numba.njit(cache=True)
def shortest_steps(indptr, indices, lengths, nodes, seeds, n_all):
    """The length of the shortest path from each of ``seeds`` (positions in ``nodes``) to each of ``nodes``,
    through ``nodes`` only, over the CSR graph of ``n_all`` atoms (``inf`` where none): Dijkstra's search with
    a binary heap, a row per seed.

    Each length is the least ``d(u) + length(u, v)`` over the neighbours settled before it, as in any
    Dijkstra's search (scipy's among them) whatever order the heap keeps ties in: the same floats.
    """
    n = len(nodes)
    position = np.full(n_all, -1, dtype=np.int64)
    for i in range(n):
        position[nodes[i]] = i
    out = np.full((len(seeds), n), np.inf)
    for r in range(len(seeds)):
        distance = out[r]
        distance[seeds[r]] = 0.0
        heap = [(0.0, seeds[r])]
        while heap:
            d, i = heapq.heappop(heap)
            if d > distance[i]:
                continue
            a = nodes[i]
            for e in range(indptr[a], indptr[a + 1]):
                j = position[indices[e]]
                if j >= 0 and d + lengths[e] < distance[j]:
                    distance[j] = d + lengths[e]
                    heapq.heappush(heap, (distance[j], j))
    return out


@numba.njit(cache=True)
def cut_costs(indptr, indices, cost, orders, n_all, w, x, y, prefix, scale, cut_weight, spread_weight):
    """Whether each cut of each ordering leaves both sides connected (:func:`cut_profiles_of`), and its cost:
    the cut's length over ``scale`` and the spread of both sides (weighted squared distances to their
    centres, from running sums of the loads ``prefix`` and of ``w·x``, ``w·y``, ``w·(x² + y²)``), over the
    total load and ``scale²``, as ``._bisection.CutTable`` computed them in numpy."""
    valid, cut = cut_profiles_of(indptr, indices, cost, orders, n_all)
    rows, n = orders.shape
    base = np.empty((rows, n))
    sx, sy, sq = np.empty(n), np.empty(n), np.empty(n)
    for r in range(rows):
        for i in range(n):
            a = orders[r, i]
            tx, ty, tq = w[a] * x[a], w[a] * y[a], w[a] * (x[a] * x[a] + y[a] * y[a])
            sx[i], sy[i], sq[i] = (tx, ty, tq) if i == 0 else (sx[i - 1] + tx, sy[i - 1] + ty, sq[i - 1] + tq)
        tw, tx, ty, tq = prefix[r, n - 1], sx[n - 1], sy[n - 1], sq[n - 1]
        for i in range(n):
            sw = prefix[r, i]
            spread_a = sq[i] - (sx[i] * sx[i] + sy[i] * sy[i]) / (sw if sw > 0 else 1.0)
            rw = tw - sw
            dx, dy = tx - sx[i], ty - sy[i]
            spread_b = (tq - sq[i]) - (dx * dx + dy * dy) / (rw if rw > 0 else 1.0)
            spread = (spread_a + spread_b) / max(tw, 1.0) / (scale * scale)
            base[r, i] = cut_weight * cut[r, i] / scale + spread_weight * spread
    return valid, base


@numba.njit(cache=True)
def least_cut(prefix, valid, base, splits, k, lo, hi, total, even_weight, nearest):
    """The cut of least score (``base`` plus ``even_weight`` times the squared difference of the two parts'
    per-grid loads, over the average): (ordering, split, index), or -1s where none is allowed.

    A cut is allowed where both sides are connected and, for split ``s`` (``splits[s]`` grids in the
    prefix), each part's per-grid load lies within ``lo``–``hi``, or, where ``nearest`` has rows, where
    ``nearest[s]`` marks it. Ties go to the first ordering, then the first split, then the earlier index;
    a score that is not a number (as numpy's ``argmin`` would pick first) leaves no cut.
    """
    rows, n = prefix.shape
    average = max(total / k, 1e-9)
    best, found = np.inf, (-1, -1, -1)
    for r in range(rows):
        for s in range(len(splits)):
            ka = splits[s]
            kb = k - ka
            for i in range(n - 1):
                p = prefix[r, i]
                q = total - p
                if len(nearest):
                    allowed = nearest[s, r, i]
                else:
                    allowed = p >= ka * lo and p <= ka * hi and q >= kb * lo and q <= kb * hi
                if allowed and valid[r, i]:
                    d = (p / ka - q / kb) / average
                    score = base[r, i] + even_weight * (d * d)
                    if score != score:
                        return -1, -1, -1
                    if score < best:
                        best, found = score, (r, s, i)
    return found


@numba.njit(cache=True)
def labels_touching(indptr, indices, labels, group):
    """The labels of the atoms touching those labelled one of ``group``, outside them, ascending: what
    ``np.unique(labels[near[~np.isin(labels, group)[near]]])`` gives for the neighbours ``near`` of the
    group's atoms (any whole labels, negative ones too)."""
    n = len(labels)
    inside = np.zeros(n, dtype=np.bool_)
    low, top = 0, 0
    for a in range(n):
        low, top = (labels[a], labels[a]) if a == 0 else (min(low, labels[a]), max(top, labels[a]))
        for g in group:
            if labels[a] == g:
                inside[a] = True
    touching = np.zeros(top - low + 1, dtype=np.bool_)
    for a in range(n):
        if inside[a]:
            for e in range(indptr[a], indptr[a + 1]):
                b = indices[e]
                if not inside[b]:
                    touching[labels[b] - low] = True
    return np.flatnonzero(touching) + low


@numba.njit(cache=True)
def reached_within(indptr, indices, w, starts, hi, group, rank, after_start):
    """Per start: the units a path from it reaches while carrying at most ``hi`` (its own load included),
    through units of its ``group`` (and ranked after it, where ``after_start``); the start itself always.
    A Dijkstra over the units' loads ``w``: a unit is reached where its least load is at most ``hi``, the
    same in any order of search. As CSR arrays (``ptr``, ``units``), each start's units ascending."""
    n = len(indptr) - 1
    best = np.full(n, np.inf)
    touched = np.empty(n, dtype=np.int64)
    ptr = np.zeros(len(starts) + 1, dtype=np.int64)
    units = np.empty(max(n, 16), dtype=np.int64)
    for r in range(len(starts)):
        s = starts[r]
        best[s] = w[s]
        touched[0], count = s, 1
        heap = [(w[s], s)]
        while heap:
            load, u = heapq.heappop(heap)
            if load > best[u]:
                continue
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                carried = load + w[v]
                admitted = group[v] == group[s] and (not after_start or rank[v] > rank[s])
                if carried <= hi + 1e-9 and carried < best[v] and admitted:
                    if best[v] == np.inf:
                        touched[count] = v
                        count += 1
                    best[v] = carried
                    heapq.heappush(heap, (carried, v))
        if ptr[r] + count > len(units):
            grown = np.empty(2 * (ptr[r] + count), dtype=np.int64)
            grown[: ptr[r]] = units[: ptr[r]]
            units = grown
        units[ptr[r] : ptr[r] + count] = np.sort(touched[:count])
        ptr[r + 1] = ptr[r] + count
        for i in range(count):
            best[touched[i]] = np.inf
    return ptr, units[: ptr[-1]]
