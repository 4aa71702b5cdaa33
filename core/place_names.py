"""How divisions are named: the short forms people type for them (延边朝鲜族自治州 → 延边州, 延边) and
the names they had before an administrative change (JioNLP's maintained change list). Pure text rules
over names; the table itself is ``core.regions``."""
from __future__ import annotations

import re
from pathlib import Path

_SUFFIX = re.compile(r"(特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|自治州|自治县|自治旗|林区|地区|省|市|盟|县|区|旗)$")
# The 55 minority names that appear inside autonomous division names.
_ETHNIC = ("蒙古|回|藏|维吾尔|苗|彝|壮|布依|朝鲜|满|侗|瑶|白|土家|哈尼|哈萨克|傣|黎|傈僳|佤|畲|高山|拉祜|水|东乡|纳西|景颇|"
           "柯尔克孜|土|达斡尔|仫佬|羌|布朗|撒拉|毛南|仡佬|锡伯|阿昌|普米|塔吉克|怒|乌孜别克|俄罗斯|鄂温克|德昂|保安|"
           "裕固|京|塔塔尔|独龙|鄂伦春|赫哲|门巴|珞巴|基诺")
# 伊犁哈萨克自治州 and 博尔塔拉蒙古自治州 drop the 族 of multi-character names; 隆林各族自治县 says 各族.
_ETHNIC_TAIL = re.compile(rf"(?:(?:{_ETHNIC}|各)族|(?:{'|'.join(e for e in _ETHNIC.split('|') if len(e) > 1)}))+$")

def short_forms(name: str, level: int) -> set[str]:
    """Short names people type for a division.

    >>> sorted(short_forms("延边朝鲜族自治州", 2))
    ['延边', '延边州', '延边朝鲜族', '延边朝鲜族州']
    >>> sorted(short_forms("东乡族自治县", 3))
    ['东乡', '东乡县', '东乡族', '东乡族县']
    """
    forms = set()
    m = _SUFFIX.search(name)
    if m and m.group(1) == "林区" and m.start() < 2:
        m = re.search("(区)$", name)  # 新林区 is 新林 + 区, 神农架林区 is 神农架 + 林区
    if m:
        if name.endswith("新区") and len(name) >= 4:
            forms.add(name[:-2])  # 浦东新区 / 浦东, 滨海新区 / 滨海
        full_stem = name[: m.start()]
        stem = _ETHNIC_TAIL.sub("", full_stem)
        if len(stem) < 2:  # 内蒙古 keeps its 蒙古; 鄂温克族自治旗 is 鄂温克
            stem = full_stem[:-1] if full_stem.endswith("族") and len(full_stem) > 2 else full_stem
        if len(stem) >= 2:
            forms.add(stem)
            kind = {"自治州": "州", "自治县": "县", "自治旗": "旗"}.get(m.group(1))
            if kind:
                forms.update({stem + kind, full_stem + kind})
            if full_stem.endswith("族") and full_stem != stem:
                forms.add(full_stem)  # 东乡族科学技术协会: the people's name stands for its autonomous county
    forms.discard(name)
    return forms


def changed_names(path: Path, divisions: list) -> list[tuple[str, str, str]]:
    """``(old name, '', new code)`` for each change of JioNLP's maintained list (下城区 → 拱墅区).

    A line is ``date, approval, old province, its short name[, old city, short[, old county, short]]
    => new province[, new city[, new county]]``; the new place is looked up by its names in ``divisions``
    (a line whose new place the table does not hold is skipped).
    """
    children: dict[tuple[str, str], str] = {(d.parent_code, d.name): d.code for d in divisions}
    provinces = {d.name: d.code for d in divisions if d.level == 1}
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=>" not in line:
            continue
        old, new = line.split("=>", 1)
        old_names = old.split("\t")[2::2]
        new_names = [n for n in new.split("\t") if n]
        code = provinces.get(new_names[0])
        for name in new_names[1:]:
            # municipalities list their districts straight under the province
            code = children.get((code, name)) or (children.get((code[:2] + "0000", name)) if code else None)
        if code and old_names:
            out.append((old_names[-1], "", code))
    return out
