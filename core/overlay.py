"""Review decisions as a small overlay on the nightly snapshot, applied on load (pure).

A decision does not copy the snapshot: it is stored as a few overlay operations (``OverlayOp``) in the
database, in the same transaction as its facts and audit rows. Whoever reads the live state (the
service, ``orgreg export``, the desk, the next nightly run) takes the nightly snapshot's frames and
applies the operations committed after that snapshot was built (``apply_overlay``); the next nightly
run folds them in, because it reads the same facts and corrections before clustering.

The four frames an operation edits are ``OVERLAY_FRAMES``; the source records are only read. An
operation naming an id the snapshot does not hold (a record removed from the registry since) is
skipped: the fact stays in the database and applies again if the record comes back.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from core.schema import NATIONAL_CATEGORIES

OVERLAY_FRAMES = ("organizations", "id_map", "merge_suggestions", "activity_visibility")
# match: merge two units into the survivor's; distinct: the pair is rejected; unmerge: ``left`` leaves its
# unit; correct: the unit's fields (payload ``fields``) are set; restore: an undone batch's saved state
# (payload: what ``serve.review.before_state`` saved) is put back
OP_KINDS = ("match", "distinct", "unmerge", "correct", "restore")


@dataclass(frozen=True)
class OverlayOp:
    """One edit of the live state (see ``OP_KINDS``)."""
    kind: str
    left: str = ""
    right: str = ""
    survivor: str | None = None
    payload: dict = field(default_factory=dict, compare=False, hash=False)
    seq: int = 0  # position in the overlay (the database's sequence); 0 before it is stored


def pair_key(a: str, b: str) -> str:
    """The order-free key of a pair of source ids.

    >>> pair_key("b", "a")
    'a|b'
    """
    return f"{min(a, b)}|{max(a, b)}"


def apply_overlay(frames: dict[str, pd.DataFrame], ops) -> dict[str, pd.DataFrame]:
    """``frames`` with every operation of ``ops`` applied in order (a new dict; the input is not changed)."""
    out = editable(frames)
    ids = set(out["id_map"]["source_org_id"])  # operations never add or remove source records
    for op in ops:
        out = apply_op(out, op, ids)
    return out


def apply_op(f: dict[str, pd.DataFrame], op: OverlayOp, ids: set[str] | None = None) -> dict[str, pd.DataFrame]:
    """One operation on frames that may be changed in place (``editable``); skipped when it names an id
    the snapshot does not hold (``ids``: the snapshot's source ids, when the caller has them)."""
    if op.kind == "restore":
        return restore(f, op.payload)
    ids = set(f["id_map"]["source_org_id"]) if ids is None else ids
    named = [op.left, op.right] + ([op.survivor] if op.kind == "match" else [])
    if any(x not in ids for x in named):
        return f
    if op.kind == "match":
        return apply_match(f, op.left, op.right, op.survivor)
    if op.kind == "distinct":
        return set_status(f, op.left, op.right, "rejected")
    if op.kind == "unmerge":
        return set_status(unmerge(f, op.left), op.left, op.right, "rejected")
    if op.kind == "correct":
        return set_fields(f, op.left, op.payload.get("fields", {}))
    raise ValueError(f"unknown overlay operation {op.kind!r}")


def touched_sources(frames: dict[str, pd.DataFrame], op: OverlayOp) -> set[str]:
    """The source records whose unit an operation may change (read before applying it): the review
    queue builds their rows again, and only theirs."""
    if op.kind == "restore":
        return set(op.payload.get("id_map", {}))
    if op.kind == "distinct":
        return set()  # a reject changes no unit: the pair leaves the queue with the decided keys
    idm = frames["id_map"]
    units = set(_units_of(idm, [x for x in (op.left, op.right, op.survivor) if x]).values())
    return set(idm.loc[idm["canonical_org_id"].isin(units), "source_org_id"])


def apply_match(f: dict[str, pd.DataFrame], left: str, right: str, survivor: str) -> dict[str, pd.DataFrame]:
    """Merge the units of ``left`` and ``right`` into the unit of ``survivor`` (a source or canonical id)."""
    idm = f["id_map"]
    canon = _units_of(idm, (left, right, survivor))
    keep = canon.get(survivor, survivor)
    gone = ({canon[left], canon[right]} - {keep})
    if not gone:
        return set_status(f, left, right, "accepted")
    moved = idm["canonical_org_id"].isin(gone)
    idm.loc[moved, "canonical_org_id"] = keep
    idm.loc[moved, "how"] = "reviewed"
    orgs = f["organizations"]
    lost = orgs[orgs["org_id"].isin(gone)]
    i = orgs.index[orgs["org_id"] == keep][0]
    names = [a for a in orgs.at[i, "aliases"].split("|") if a] + lost["name"].tolist() + \
        [a for al in lost["aliases"] for a in al.split("|") if a]
    orgs.at[i, "aliases"] = "|".join(sorted(set(names) - {orgs.at[i, "name"], ""}))
    orgs.at[i, "members"] = int(orgs.at[i, "members"]) + int(lost["members"].sum())
    orgs.at[i, "certified"] = bool(orgs.at[i, "certified"]) or bool(lost["certified"].any())
    orgs.loc[orgs["parent_id"].isin(gone), "parent_id"] = keep
    f["organizations"] = orgs[~orgs["org_id"].isin(gone)].reset_index(drop=True)
    vis = f["activity_visibility"]
    hit = vis["canonical_org_id"].isin(gone)
    vis.loc[hit, "canonical_org_id"] = keep
    province = "" if orgs.at[i, "category"] in NATIONAL_CATEGORIES else orgs.at[i, "province_code"]
    if province or orgs.at[i, "category"] in NATIONAL_CATEGORIES:
        vis.loc[hit, "province_code"] = province
    f = set_status(f, left, right, "accepted")
    # other pending pairs between the two units are settled by this merge
    s = f["merge_suggestions"]
    members = set(idm.loc[idm["canonical_org_id"] == keep, "source_org_id"])
    same = (s["status"] == "pending") & s["left_org_id"].isin(members) & s["right_org_id"].isin(members)
    f["merge_suggestions"] = s[~same].reset_index(drop=True)
    return f


def unmerge(f: dict[str, pd.DataFrame], source: str) -> dict[str, pd.DataFrame]:
    """Take ``source`` (and the records it is the survivor of) out of its unit: it becomes a unit of its
    own again, with its own activities; parent and province stay those of the unit it left."""
    idm = f["id_map"]
    old = _units_of(idm, (source,))[source]
    orgs = f["organizations"]
    base = orgs[orgs["org_id"] == old].iloc[0].to_dict()
    if old == source:
        # the survivor itself leaves: the next record of the unit takes over its id
        rest = idm[(idm["canonical_org_id"] == old) & (idm["source_org_id"] != source)]["source_org_id"].tolist()
        if not rest:
            return f
        heir = rest[0]
        idm.loc[idm["source_org_id"].isin(rest), "canonical_org_id"] = heir
        idm.loc[idm["source_org_id"] == heir, "how"] = "same"
        new_row = dict(base, org_id=heir, name=_record_name(f, heir), members=len(rest))
        orgs.loc[orgs["org_id"] == old, "members"] = 1
        orgs.loc[orgs["parent_id"] == old, "parent_id"] = heir
        f["organizations"] = pd.concat([orgs, pd.DataFrame([new_row])], ignore_index=True)
        vis = f["activity_visibility"]
        vis.loc[(vis["canonical_org_id"] == old) & (vis["org_id"] != source), "canonical_org_id"] = heir
        return f
    idm.loc[idm["source_org_id"] == source, ["canonical_org_id", "how"]] = [source, "same"]
    orgs.loc[orgs["org_id"] == old, "members"] = max(int(base["members"]) - 1, 1)
    row = dict(base, org_id=source, name=_record_name(f, source), aliases="", members=1)
    f["organizations"] = pd.concat([orgs, pd.DataFrame([row])], ignore_index=True)
    vis = f["activity_visibility"]
    if "org_id" in vis.columns:
        vis.loc[vis["org_id"] == source, "canonical_org_id"] = source
    return f


def set_fields(f: dict[str, pd.DataFrame], source: str, fields: dict[str, str]) -> dict[str, pd.DataFrame]:
    """The unit of ``source`` with ``fields`` set (a correction; the nightly run redoes its parent)."""
    idm = f["id_map"]
    unit = idm.loc[idm["source_org_id"] == source, "canonical_org_id"].iloc[0]
    orgs = f["organizations"]
    row = orgs.index[orgs["org_id"] == unit]
    for name, value in fields.items():
        orgs.loc[row, name] = value
    return f


def set_status(f: dict, left: str, right: str, status: str) -> dict:
    """The suggestion of the pair set to ``status`` (added as a person's pair when there was none)."""
    s = f["merge_suggestions"]
    l, r = s["left_org_id"], s["right_org_id"]
    hit = ((l == left) & (r == right)) | ((l == right) & (r == left))  # column-wise: 100,000 rows in a millisecond
    if hit.any():
        s.loc[hit, "status"] = status
    else:
        s = pd.concat([s, pd.DataFrame([{"left_org_id": left, "right_org_id": right, "score": 1.0,
                                         "explanation": "人工决定", "status": status}])], ignore_index=True)
    f["merge_suggestions"] = s
    return f


def _put_back(frame: pd.DataFrame, key: str, saved: dict, columns: tuple[str, str]) -> None:
    """Set ``columns`` of the rows whose ``key`` is in ``saved`` back to the saved pair (in place)."""
    rows = frame[key].isin(saved.keys())
    was = frame.loc[rows, key].map(saved)
    for i, column in enumerate(columns):
        frame.loc[rows, column] = was.str[i].to_numpy()


def restore(f: dict[str, pd.DataFrame], before: dict) -> dict[str, pd.DataFrame]:
    """Put back what ``serve.review.before_state`` saved: the records' units, the units' rows, the
    activities and the suggestions' statuses (undo). Records the snapshot no longer holds are left out."""
    idm = f["id_map"]
    # the few saved ids the snapshot still holds (a set of every source id costs 100 ms at 100,000)
    asked = list(before["id_map"]) + [r["org_id"] for r in before["organizations"]]
    present = set(idm.loc[idm["source_org_id"].isin(asked), "source_org_id"]) if asked else set()
    saved_map = {k: v for k, v in before["id_map"].items() if k in present}
    _put_back(f["id_map"], "source_org_id", saved_map, ("canonical_org_id", "how"))
    orgs = f["organizations"]
    saved = pd.DataFrame(before["organizations"])
    if len(saved):
        saved = saved[saved["org_id"].isin(present)]
    # every record of the saved units loses any row of its own (a split made one), and the units'
    # rows come back as they were (the survivor's took the others' aliases and members)
    orgs = orgs[~orgs["org_id"].isin(saved_map.keys())]
    if len(saved):
        saved = saved.astype({c: orgs[c].dtype for c in saved.columns if c in orgs.columns and
                              orgs[c].dtype != object}, errors="ignore")
    f["organizations"] = pd.concat([orgs, saved.reindex(columns=orgs.columns)], ignore_index=True) \
        if len(saved) else orgs.reset_index(drop=True)
    _put_back(f["activity_visibility"], "activity_id", before["visibility"], ("canonical_org_id", "province_code"))
    s = f["merge_suggestions"]
    # pair keys of the rows naming a saved pair's record only (not of all 100,000 suggestions)
    named = sorted({x for k in before["suggestions"] for x in k.split("|")})
    near = s.index[s["left_org_id"].isin(named) & s["right_org_id"].isin(named)] if named else s.index[:0]
    drop = [i for i, a, b in zip(near, s.loc[near, "left_org_id"].tolist(), s.loc[near, "right_org_id"].tolist())
            if pair_key(a, b) in before["suggestions"]]
    rows = [r for r in before["suggestions"].values() if r is not None]
    s = s.drop(index=drop)
    f["merge_suggestions"] = pd.concat([s, pd.DataFrame(rows, columns=s.columns)], ignore_index=True) if rows else s
    f["merge_suggestions"]["score"] = f["merge_suggestions"]["score"].astype(float)
    return f


def _units_of(idm: pd.DataFrame, sources) -> dict[str, str]:
    """The canonical ids of a few source records (column-wise: a dict of a million would cost more)."""
    rows = idm[idm["source_org_id"].isin(list(sources))]
    return dict(zip(rows["source_org_id"].tolist(), rows["canonical_org_id"].tolist()))


def editable(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """A copy whose edited frames may be changed in place (the records are only read)."""
    return {k: (v.copy() if k in OVERLAY_FRAMES else v) for k, v in frames.items()}


def _record_name(f: dict, source: str) -> str:
    rec = f.get("records")
    if rec is None:
        return source
    hit = rec.loc[rec["org_id"] == source, "name"]
    return hit.iloc[0].strip() if len(hit) else source
