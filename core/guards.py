"""Write-audit-publish: a nightly result is compared with the live snapshot before it may go live.

A registry export cut off half way, or the wrong file, still passes every row check: it is simply
smaller. These figures catch it (pure functions: frames in, figures out); the flow holds the run
back when one passes its threshold, and ``--accept-shrink`` publishes it anyway.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.lookups import within


class ShrinkHeld(Exception):
    """The result shrank past a threshold compared with the live snapshot; nothing was published."""


@dataclass(frozen=True)
class Shrink:
    ids_gone: float  # share of the live snapshot's source ids missing from this run
    units_lost: float  # share of the live snapshot's canonical units fewer
    activities_unlinked: float  # share of activities that had a unit in the live snapshot and have none now
    quarantine_rise: float  # rise of the share of registry rows quarantined, against the live run

    def over(self, limits: dict[str, float]) -> dict[str, float]:
        """The figures above their limit, by name."""
        return {k: v for k, v in vars(self).items() if v > limits[k]}


LABELS = {"ids_gone": "消失的源记录 ID", "units_lost": "减少的规范单位", "activities_unlinked": "失去归口单位的活动",
          "quarantine_rise": "隔离行占比的上升"}


def measure_shrink(live_ids, ids, live_units: int, units: int, live_visibility: pd.DataFrame,
                   visibility: pd.DataFrame, live_quarantined: float, quarantined: float) -> Shrink:
    """How much smaller this result is than the live snapshot (each figure a share, 0 when it grew).

    >>> live = pd.DataFrame({"activity_id": ["a", "b"], "canonical_org_id": ["1", "2"]})
    >>> now = pd.DataFrame({"activity_id": ["a", "b"], "canonical_org_id": ["1", ""]})
    >>> measure_shrink(pd.Series(["1", "2", "3", "4"]), pd.Series(["1", "2", "3"]), 4, 2, live, now, 0.01, 0.02)
    Shrink(ids_gone=0.25, units_lost=0.5, activities_unlinked=0.5, quarantine_rise=0.01)
    """
    live_ids = pd.Series(live_ids)
    gone = float((~within(live_ids, ids)).mean()) if len(live_ids) else 0.0
    lost = max(0.0, 1 - units / live_units) if live_units else 0.0
    had = live_visibility.loc[live_visibility["canonical_org_id"].astype(str) != "", "activity_id"]
    unlinked_now = visibility.loc[visibility["canonical_org_id"].astype(str) == "", "activity_id"]
    unlinked = float(within(unlinked_now, had).sum()) / max(len(visibility), 1)
    rise = max(0.0, quarantined - live_quarantined)
    return Shrink(*(round(float(x), 4) for x in (gone, lost, unlinked, rise)))


def shrink_message(shrink: Shrink, limits: dict[str, float]) -> str:
    """The person's message of a held-back run: every figure over its limit, and how to publish anyway.

    >>> shrink_message(Shrink(0.6, 0.0, 0.0, 0.0), {"ids_gone": 0.05, "units_lost": 0.05,
    ...                "activities_unlinked": 0.05, "quarantine_rise": 0.05}).split("。")[0]
    '与当前发布的快照相比，本次结果明显缩小：消失的源记录 ID 60.0%（上限 5.0%）'
    """
    over = shrink.over(limits)
    figures = "；".join(f"{LABELS[k]} {v:.1%}（上限 {limits[k]:.1%}）" for k, v in over.items())
    return (f"与当前发布的快照相比，本次结果明显缩小：{figures}。很可能导出的文件不完整（被截断）或选错了文件，"
            "本次运行没有发布，当前快照继续提供服务。请检查导出后重新运行；确认数据确实如此时，"
            "用 orgreg nightly --accept-shrink 发布。")

