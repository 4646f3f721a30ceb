"""What a plan states about its grids outside the bounds or over the radius: a certificate for each, with
its exact scope, or the honest "not proven" (证明与未证明).

Every ordinary grid outside the bounds (or over the service radius) gets one of:

- a **unit claim** (:attr:`~gridplan.vocabulary.Claim.UNIT_MISFIT`): one of its units fits no connected
  group of units within the bounds (subset sums of what its neighbours can add), so its grid is outside
  them in every layout; the same argument on a widened window bounds how near them any layout brings it,
  and says whether this grid is as near as any (``covers_excess``);
- a **region claim** (:attr:`~gridplan.vocabulary.Claim.REGION_FEWEST`): the region search proved that no
  layout of its region, with every grid outside the bounds at most ``cap``, has fewer grids outside — kept
  only where the plan's own layout lies in that scope and has that many;
- a **neighbourhood claim** (:attr:`~gridplan.vocabulary.Claim.NEIGHBOURHOOD_FEWEST`): the same, for the
  ground of a grid and the rings of grids around it, those beyond kept as they are — re-drawing the grids
  nearby cannot help, which does not make the grid unable to meet the bounds;
- a **tight-band claim** (:attr:`~gridplan.vocabulary.Claim.TIGHT_FEWEST`): no layout of a region's units
  with no more grids outside the bounds (each at most the misfit ceiling) has fewer grids outside the tight
  band — kept only where the plan's layout has that many; a **neighbourhood tight-band claim**
  (:attr:`~gridplan.vocabulary.Claim.NEIGHBOURHOOD_TIGHT`) the same for the ground of a grid and the rings of
  grids around it, those beyond kept as they are;
- a **radius claim** (:attr:`~gridplan.vocabulary.Claim.UNIT_SPANS`): two buildings of one unit lie more
  than twice the radius apart;
- otherwise **not proven** (:attr:`~gridplan.vocabulary.Claim.BEST_FOUND`), with why the search stopped.

:mod:`gridplan.review.verify` checks every proven claim again, by other means.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from gridplan.core.results import Certificate, PlanWarning
from gridplan.engine import RegionProof, neighbour_arrays, proven_misfits
from gridplan.settings import GridSettings
from gridplan.vocabulary import Claim, ClaimMethod, ClaimStatus, GridKind, SearchStop, WarningCode, WarningReason

from .units import Units


@dataclass(frozen=True)
class RegionClaim:
    """A region search's proof (:class:`~gridplan.engine.RegionProof`) and the grids of the layout it speaks
    of: among the layouts of their units in which every grid outside the bounds holds at most ``cap``, none
    has fewer than ``fewest`` outside (for a neighbourhood's, ``atoms`` set, the grids around them kept as
    they are); for the tight band's, the same of the grids outside it, within its scope."""

    grid_ids: tuple[str, ...]
    proof: RegionProof

    @property
    def local(self) -> bool:
        """The ground of some grids, the grids around them as they are: not the whole region."""
        return self.proof.atoms is not None


@dataclass(frozen=True)
class Claims:
    """The warnings and certificates of a layout's grids outside the bounds or over the radius, and the
    grids proven unable to meet the bounds."""

    warnings: list[PlanWarning]
    certificates: list[Certificate]
    bounds_proven: frozenset[str]


def plan_claims(
    grids: pd.DataFrame,
    atom_grid: np.ndarray,
    building_ids: np.ndarray,
    units: Units,
    weight: np.ndarray,
    settings: GridSettings,
    regions: Iterable[RegionClaim] = (),
    fixed: Iterable[str] = (),
    otherwise: WarningReason = WarningReason.UNITS_TOO_COARSE,
    stopped: SearchStop = SearchStop.LIMITS,
    radius_otherwise: WarningReason = WarningReason.NO_SHORTER_SPLIT,
) -> Claims:
    """Certificates and warnings for every ordinary grid outside the bounds or over the radius.

    Parameters
    ----------
    grids
        The layout's grids (``grid_id``, ``community_id``, ``kind``, ``service_radius_m``), in the order of
        the positions in ``atom_grid``.
    atom_grid
        Each atom's grid position.
    building_ids
        Each building's id, in the order of ``units.building_atom``.
    units
        The atoms.
    weight
        Each atom's balanced load (households, or workload scaled to them).
    settings
        The bounds and the radius.
    regions
        The region proofs the engine made.
    fixed
        Communities whose grid count the user fixed.
    otherwise, stopped
        The warning's reason and why the search stopped, for a grid outside the bounds with no proof.
    radius_otherwise
        The reason for a grid over the radius that no unit proves.

    Returns
    -------
    Claims
    """
    writer = _ClaimWriter(grids, atom_grid, building_ids, units, weight, settings, regions)
    fixed = set(fixed)
    # community by community, its grids outside the bounds then those over the radius: the order a plan of
    # communities apart gives too (gridplan.engine.parallel)
    community_ids = grids["community_id"].astype(str).to_numpy()
    ordinary = (grids["kind"] == GridKind.ORDINARY).to_numpy()
    over = ordinary & (grids["service_radius_m"].to_numpy() > settings.max_service_radius_m)
    tight: dict[str, list[RegionClaim]] = {}  # the tight band's proofs, by the community of their grids
    for region in regions:
        if region.proof.tight and writer.community_of(region) is not None:
            tight.setdefault(writer.community_of(region), []).append(region)
    for community in pd.unique(community_ids):
        here = community_ids == community
        for g in np.flatnonzero(writer.outside & here):
            writer.bounds_claim(g, otherwise, SearchStop.FIXED_COUNT if community in fixed else stopped)
        for g in np.flatnonzero(over & here):
            writer.radius_claim(g, radius_otherwise)
        for region in tight.get(community, []):
            writer.tight_claim(region)
    return Claims(writer.warnings, writer.certificates, frozenset(writer.proven))


class _ClaimWriter:
    """The certificates and warnings of one layout, written grid by grid (:func:`plan_claims`)."""

    def __init__(
        self,
        grids: pd.DataFrame,
        atom_grid: np.ndarray,
        building_ids: np.ndarray,
        units: Units,
        weight: np.ndarray,
        settings: GridSettings,
        regions: Iterable[RegionClaim],
    ):
        self.grids, self.units, self.settings = grids, units, settings
        self.bounds = settings.bounds_window
        self.load = np.bincount(atom_grid, weights=weight, minlength=len(grids))
        self.grid_ids = grids["grid_id"].astype(str).to_numpy()
        self.outside = (grids["kind"] == GridKind.ORDINARY).to_numpy() & ~self.bounds.contains(self.load)
        self.unit_proofs = _misfit_proofs(units, atom_grid, weight, np.flatnonzero(self.outside), self.load, settings)
        self.position = {g: i for i, g in enumerate(self.grid_ids)}
        self.region_of = self._regions([r for r in regions if not r.proof.tight])
        self.members = pd.Series(np.arange(len(atom_grid))).groupby(atom_grid)
        self.buildings_of = pd.Series(building_ids).groupby(units.building_atom.to_numpy())
        self.span = (
            pd.Series(units.atoms["half_span_m"].to_numpy())
            .groupby(atom_grid)
            .max()
            .reindex(range(len(grids)), fill_value=0.0)
        )
        self.certificates: list[Certificate] = []
        self.warnings: list[PlanWarning] = []
        self.proven: set[str] = set()
        self.region_certificate: dict[int, Certificate] = {}

    def _regions(self, regions: Iterable[RegionClaim]) -> dict[int, tuple[RegionClaim, bool]]:
        """Per grid outside the bounds, the region proof that speaks of it and whether the layout is in its
        scope (as many grids outside as it proves the fewest, none above its cap); a whole region's first."""
        position = self.position
        region_of: dict[int, tuple[RegionClaim, bool]] = {}
        for region in sorted(regions, key=lambda r: r.local):
            out_here = [position[g] for g in region.grid_ids if g in position and self.outside[position[g]]]
            proof = region.proof
            in_scope = len(out_here) == proof.fewest and all(self.load[g] <= proof.cap + 1e-9 for g in out_here)
            for g in out_here:
                if g not in region_of or not region_of[g][1]:
                    region_of[g] = (region, in_scope)
        return region_of

    def _add(self, **fields) -> Certificate:
        fields = {"lo": self.bounds.lo, "hi": self.bounds.hi} | fields
        self.certificates.append(Certificate(certificate_id=f"C{len(self.certificates) + 1:03d}", **fields))
        return self.certificates[-1]

    def _unit_buildings(self, atom: int) -> tuple[str, ...]:
        try:
            return tuple(str(b) for b in self.buildings_of.get_group(atom))
        except KeyError:
            return ()

    def bounds_claim(self, g: int, otherwise: WarningReason, stopped: SearchStop) -> None:
        """The claim and warning of grid ``g``, outside the bounds: a unit's proof, a region's (or a
        neighbourhood's) in whose scope it lies, or not proven with why the search stopped."""
        bounds, load = self.bounds, self.load[g]
        community, grid_id = str(self.grids["community_id"].iat[g]), str(self.grid_ids[g])
        figures = [("households", float(load)), ("floor", bounds.lo), ("ceiling", bounds.hi)]
        if g in self.unit_proofs:
            atom, widened = self.unit_proofs[g]
            # no group holding the unit has a (whole) load within the widened window: at most one below it, at
            # least one above; the grid is as near as any layout allows where it holds one of those
            below, above = (
                float(math.ceil(bounds.lo - widened - 1e-9) - 1),
                float(math.floor(bounds.hi + widened + 1e-9) + 1),
            )
            covers = bool(np.isclose(load, below) or np.isclose(load, above))
            c = self._add(
                claim=Claim.UNIT_MISFIT,
                status=ClaimStatus.PROVEN,
                community_id=community,
                grid_ids=(grid_id,),
                unit_buildings=self._unit_buildings(atom),
                below=below,
                above=above,
                covers_excess=covers,
                method=ClaimMethod.SUBSET_SUMS,
                searched=f"subset sums of the units a path from it reaches carrying at most {bounds.hi + widened:.0f}",
            )
            reason = WarningReason.UNIT_MISFIT
            figures += [("below", below), ("above", above), ("covers_excess", covers)]
            self.proven.add(grid_id)
        elif g in self.region_of and self.region_of[g][1]:
            region = self.region_of[g][0]
            proof = region.proof
            c = self.region_certificate.get(id(region))
            if c is None:
                claim = Claim.NEIGHBOURHOOD_FEWEST if region.local else Claim.REGION_FEWEST
                c = self.region_certificate[id(region)] = self._region_row(claim, region)
            reason = WarningReason.NEIGHBOURHOOD_PROVEN if region.local else WarningReason.REGION_PROVEN
            figures += [("cap", proof.cap), ("fewest", proof.fewest), ("grids", len(region.grid_ids) - 1)]
            if not region.local:  # a neighbourhood's proof does not make the grid unable to meet the bounds
                self.proven.add(grid_id)
        else:
            why = SearchStop.SCOPE if g in self.region_of else stopped
            reason = WarningReason.FIXED_COUNT if why == SearchStop.FIXED_COUNT else otherwise
            c = self._add(
                claim=Claim.BEST_FOUND,
                status=ClaimStatus.NOT_PROVEN,
                community_id=community,
                grid_ids=(grid_id,),
                method=ClaimMethod.LOCAL_SEARCH,
                stopped=why,
            )
            figures += [("stopped", str(why))]
        figures += [("certificate", c.certificate_id), ("method", str(c.method))]
        self.warnings.append(PlanWarning(WarningCode.OUT_OF_BOUNDS, community, grid_id, reason.value, tuple(figures)))

    def community_of(self, region: RegionClaim) -> str | None:
        """The community of a region proof's grids (None where none of them is in the layout)."""
        grids = [self.position[g] for g in region.grid_ids if g in self.position]
        return str(self.grids["community_id"].iat[grids[0]]) if grids else None

    def tight_claim(self, region: RegionClaim) -> None:
        """The certificate of a region's proof about the tight band, where the layout is in its scope:
        ``fewest`` grids outside the band, the others within it."""
        grids = [self.position[g] for g in region.grid_ids if g in self.position]
        tight, proof = self.settings.tight_window, region.proof
        if not proof.covers(self.load[grids], tight):  # the layout kept is not one the proof speaks of
            return
        self._region_row(
            Claim.NEIGHBOURHOOD_TIGHT if region.local else Claim.TIGHT_FEWEST,
            region,
            lo=tight.lo,
            hi=tight.hi,
            floor=proof.floor,
            beyond=proof.beyond,
            beyond_cap=proof.beyond_cap if proof.beyond else float("nan"),
        )

    def _region_row(self, claim: Claim, region: RegionClaim, **window) -> Certificate:
        """The certificate of a region's (or a neighbourhood's) proof: its grids, figures and method."""
        proof = region.proof
        return self._add(
            claim=claim,
            status=ClaimStatus.PROVEN,
            community_id=self.community_of(region),
            grid_ids=region.grid_ids,
            cap=proof.cap,
            fewest=proof.fewest,
            method=proof.method,
            searched=proof.searched,
            **window,
        )

    def radius_claim(self, g: int, otherwise: WarningReason) -> None:
        """The claim and warning of grid ``g``, over the radius: a unit wider than twice it, or not proven."""
        limit, span = self.settings.max_service_radius_m, self.span[g]
        community, grid_id = str(self.grids["community_id"].iat[g]), str(self.grid_ids[g])
        figures = [
            ("radius", float(self.grids["service_radius_m"].iat[g])),
            ("limit", limit),
            ("span", float(2 * span)),
        ]
        if span > limit:
            members = self.members.get_group(g).to_numpy()
            atom = int(members[np.argmax(self.units.atoms["half_span_m"].to_numpy()[members])])
            c = self._add(
                claim=Claim.UNIT_SPANS,
                status=ClaimStatus.PROVEN,
                community_id=community,
                grid_ids=(grid_id,),
                unit_buildings=self._unit_buildings(atom),
                method=ClaimMethod.GEOMETRY,
                searched=f"span {2 * span:.1f} m",
                lo=float("nan"),
                hi=limit,
            )
            reason = WarningReason.UNIT_SPANS
        else:
            c = self._add(
                claim=Claim.BEST_FOUND,
                status=ClaimStatus.NOT_PROVEN,
                community_id=community,
                grid_ids=(grid_id,),
                method=ClaimMethod.LOCAL_SEARCH,
                stopped=SearchStop.RADIUS,
                lo=float("nan"),
                hi=limit,
            )
            reason = otherwise
            figures.append(("stopped", str(SearchStop.RADIUS)))
        figures += [("certificate", c.certificate_id), ("method", str(c.method))]
        self.warnings.append(PlanWarning(WarningCode.OVER_RADIUS, community, grid_id, reason.value, tuple(figures)))


def _misfit_proofs(
    units: Units, atom_grid: np.ndarray, weight: np.ndarray, grids: np.ndarray, load: np.ndarray, settings: GridSettings
) -> dict[int, tuple[int, int]]:
    """Per grid outside the bounds holding a unit that fits no group within them, that unit and how far the
    bounds can be widened with it still fitting none (its grid then holds at most ``lo - widened - 1`` or at
    least ``hi + widened + 1`` in every layout): the unit with the widest. Proofs need whole loads and
    communities whose balanced load is their households."""
    atoms = units.atoms
    community = atoms["community_id"].to_numpy()
    plain = (
        pd.Series(np.isclose(weight, atoms["households"].to_numpy()))
        .groupby(community)
        .transform("all")
        .to_numpy(dtype=bool)
    )
    # units with households: a claim names its unit by its buildings
    candidates = np.flatnonzero(np.isin(atom_grid, grids) & plain & (atoms["households"].to_numpy() > 0))
    if not len(candidates):
        return {}
    graph = neighbour_arrays(units.graph)  # once: the widening below asks again and again
    community = pd.factorize(community)[0]
    allowed = atoms["kind"].to_numpy() != GridKind.SPECIAL
    lo, hi = settings.bounds_window
    w = np.where(plain, weight, 0.0)
    misfit = candidates[proven_misfits(graph, w, allowed, community, candidates, lo, hi)]
    out: dict[int, tuple[int, int]] = {}
    for a in misfit:
        g = int(atom_grid[a])
        distance = int(math.ceil(max(lo - load[g], load[g] - hi) - 1e-9))
        low, high = 0, max(distance - 1, 0)  # widened by `low` is proven; find the widest up to distance - 1
        while low < high:
            mid = (low + high + 1) // 2
            if proven_misfits(graph, w, allowed, community, [a], lo - mid, hi + mid)[0]:
                low = mid
            else:
                high = mid - 1
        if g not in out or low > out[g][1]:
            out[g] = (int(a), low)
    return out


def merged_claims(plans) -> tuple[list[PlanWarning], list[Certificate]]:
    """The warnings and certificates of plans of communities apart, as one plan of them all has them: the
    certificates renumbered in order, and the warnings naming them anew."""
    warnings, certificates = [], []
    for plan in plans:
        renamed = {}
        for c in plan.certificates:
            renamed[c.certificate_id] = f"C{len(certificates) + 1:03d}"
            certificates.append(replace(c, certificate_id=renamed[c.certificate_id]))
        for w in plan.warnings:
            figures = tuple((k, renamed.get(v, v) if k == "certificate" else v) for k, v in w.figures)
            warnings.append(replace(w, figures=figures))
    return warnings, certificates
