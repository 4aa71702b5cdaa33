"""Labelled synthetic registries in the contract's format, for the sample, tests and benchmarks.

Units are built on the real division table; duplicates carry the variants typed entries show
(place prefixes, 科协 / 科学技术协会, remarks in brackets, punctuation, full width, traditional
characters, one wrong character, renamed places, coarse or missing codes, wrong categories);
declared parents are empty, point at duplicates, skip levels, cross provinces or form cycles.
Deterministic for a seed. ``noise`` picks which kinds of variation are applied.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import opencc
import pandas as pd

from core.place_names import short_forms
from core.regions import RegionTable, default_regions

ALL_NOISE = frozenset({"prefix", "abbrev", "notes", "punct", "width", "trad", "typo", "legacy", "coarse_code",
                       "empty_code", "category", "parents"})
MINISTRIES = ["教育部", "科学技术部", "工业和信息化部", "自然资源部", "生态环境部", "农业农村部", "水利部",
              "国家卫生健康委员会", "应急管理部", "中国气象局", "中国地震局", "国家林业和草原局", "国家药品监督管理局",
              "国家国防科技工业局", "中共中央宣传部", "文化和旅游部", "国家广播电视总局", "中国科学院"]
SOCIETIES = ["中国化学会", "中国化工学会", "中国数学会", "中国物理学会", "中国力学学会", "中国天文学会", "中国气象学会",
             "中国地理学会", "中国地质学会", "中国海洋学会", "中国植物学会", "中国动物学会", "中国心理学会", "中国营养学会",
             "中国机械工程学会", "中国电机工程学会", "中国土木工程学会", "中国水利学会", "中国建筑学会", "中国航空学会",
             "中国宇航学会", "中国计算机学会", "中国通信学会", "中国电子学会", "中国自动化学会", "中国农学会", "中国林学会",
             "中国水产学会", "中国园艺学会", "中国药学会", "中华医学会", "中华中医药学会", "中华护理学会", "中国抗癌协会",
             "中国科普作家协会", "中国青少年科技辅导员协会", "中国标准化协会", "中国图象图形学学会", "中国核学会",
             "中国声学学会", "中国光学学会", "中国生物化学与分子生物学会", "中国遗传学会", "中国微生物学会"]
UNIVERSITIES = [("北京大学", "110108"), ("清华大学", "110108"), ("北京师范大学", "110102"), ("南开大学", "120104"),
                ("复旦大学", "310110"), ("同济大学", "310110"), ("浙江大学", "330106"), ("南京大学", "320113"),
                ("东南大学", "320115"), ("武汉大学", "420106"), ("华中科技大学", "420111"), ("中山大学", "440105"),
                ("四川大学", "510107"), ("重庆大学", "500106"), ("西安交通大学", "610113"), ("吉林大学", "220102"),
                ("山东大学", "370102"), ("厦门大学", "350203"), ("兰州大学", "620102"), ("中国地质大学（北京）", "110108"),
                ("中国地质大学（武汉）", "420111"), ("中国石油大学（华东）", "370211"), ("湖南大学", "430104")]
BRANDS = list("润辉宏远恒信华泰盛源鑫达永康嘉兴瑞丰明德正阳天宇利通晨光博联隆基安顺金海汇能宇昌")
INDUSTRIES = ["水务", "电力工程", "机械制造", "生物医药", "信息技术", "新材料", "精密仪器", "检测技术", "食品",
              "建材", "物流", "光电科技", "化工", "汽车零部件", "新能源", "茶业", "船舶", "数据科技"]
COMPANY_FORMS = ["有限公司", "股份有限公司", "集团有限公司"]
BASES = ["科技馆", "青少年宫", "气象科普馆", "地震科普馆", "青少年科技活动中心", "生态科普园", "科普惠农服务站",
         "中医药科普馆", "防灾减灾科普教育基地", "农业科技示范园"]
OTHERS = ["第一中学", "第二中学", "第三中学", "实验中学", "人民医院", "中医院", "妇女联合会", "图书馆", "文化馆",
          "疾病预防控制中心", "农业科学研究所", "林业科学研究所", "特殊教育学校", "应急管理局", "教育体育局", "红十字会"]
LOCAL_SOCIETIES = ["医学会", "农学会", "气象学会", "地震学会", "档案学会", "力学学会", "计算机学会", "水利学会",
                   "药学会", "科普作家协会", "青少年科技辅导员协会"]
NOTES = ["（重复）", "（机关）", "（筹）", "(新)", "（本级）", "(已认证)", "（秘书处）"]
TYPOS = {"辉": "晖", "峰": "锋", "源": "原", "园": "圆", "技": "枝", "馆": "管", "宫": "官", "盛": "胜", "达": "达"}
LEGACY = {"420600": "襄樊市", "530800": "思茅市"}
PUNCT = ["、", "，", "。", " ", "；", "*", "-"]


@dataclass
class Unit:
    entity_id: str
    category: str
    name: str
    region_code: str
    parent: str = ""  # entity id
    records: list[str] = field(default_factory=list)


def _place_names(regions: RegionTable, code: str) -> list[str]:
    return [regions.by_code[c].name for c in regions.path(code)]


def _short(name: str, level: int) -> str:
    forms = short_forms(name, level)
    return min(forms, key=len) if forms else name


class Generator:
    def __init__(self, seed: int, noise: frozenset[str], regions: RegionTable):
        self.rng = random.Random(seed)
        self.noise = noise
        self.regions = regions
        self.units: list[Unit] = []
        self.assoc: dict[tuple[str, str], str] = {}  # (category, code) -> entity
        self.s2t = opencc.OpenCC("s2t")
        self.variation = ""  # the kinds of variation of the last variant (bench.independent names them)

    def add(self, category: str, name: str, code: str) -> Unit:
        u = Unit(f"E{len(self.units) + 1:07d}", category, name, code)
        self.units.append(u)
        return u

    # ---------------------------------------------------------------- units
    def build_units(self, n_units: int) -> None:
        r, rng = self.regions, self.rng
        root = self.add("中国科协", "中国科学技术协会", "110000")
        for m in MINISTRIES:
            self.add("部委", m, "")
        for s in SOCIETIES:
            self.add("全国学会", s, "").parent = root.entity_id
        provinces = sorted(c for c, d in r.by_code.items() if d.level == 1 and c[:2] not in ("71", "81", "82"))
        counties = sorted(c for c, d in r.by_code.items() if d.level == 3)
        budget = max(n_units - len(self.units) - len(provinces), 0)
        # about one association per nine units, as in the real registry
        n_counties = min(len(counties), max(budget // 9, 30))
        chosen = sorted(rng.sample(counties, n_counties))
        prefectures = sorted({p for c in chosen if (p := r.prefecture(c))})
        for p in provinces:
            self.assoc[("省级科协", p)] = self.add("省级科协", r.by_code[p].name + "科学技术协会", p).entity_id
            self.units[-1].parent = root.entity_id
        for c in prefectures:
            u = self.add("市级科协", r.by_code[c].name + "科学技术协会", c)
            u.parent = self.assoc[("省级科协", r.province(c))]
            self.assoc[("市级科协", c)] = u.entity_id
        for c in chosen:
            pref = r.prefecture(c)
            u = self.add("县级科协", r.by_code[c].name + "科学技术协会", c)
            u.parent = self.assoc[("市级科协", pref)] if pref else self.assoc[("省级科协", r.province(c))]
            self.assoc[("县级科协", c)] = u.entity_id
        places = chosen + prefectures
        names_used, collisions = set(), 0
        for name, code in UNIVERSITIES:
            code = r.resolve(code)
            self._local("高校科协", name + "科学技术协会", code)
        while len(self.units) < n_units:
            code = rng.choice(places)
            place = r.by_code[code].name
            kind = rng.random()
            if kind < 0.25 or collisions > 20:
                # large registries run out of distinct school and museum names: companies take over
                brand = "".join(rng.choice(BRANDS) for _ in range(2 if rng.random() < 0.5 else 3))
                name = f"{brand}{rng.choice(INDUSTRIES)}{rng.choice(COMPANY_FORMS)}科学技术协会"
                cat = "企业科协"
            elif kind < 0.45:
                name, cat = place + rng.choice(BASES), "科普教育基地"
            elif kind < 0.6:
                name, cat = (r.by_code[r.province(code)].name if rng.random() < 0.4 else place) + \
                    rng.choice(LOCAL_SOCIETIES), "地方学会"
            else:
                name, cat = place + rng.choice(OTHERS), "其他"
            if name in names_used:
                collisions += 1
                continue
            collisions = 0
            names_used.add(name)
            if cat == "地方学会" and name.startswith(r.by_code[r.province(code)].name):
                code = r.province(code)
            self._local(cat, name, code)

    def _local(self, category: str, name: str, code: str) -> None:
        for c in reversed(self.regions.path(code)):
            parent = self.assoc.get(({1: "省级科协", 2: "市级科协", 3: "县级科协"}[self.regions.level(c)], c))
            if parent:
                self.add(category, name, code).parent = parent
                return

    # ---------------------------------------------------------------- records
    def variant(self, u: Unit) -> tuple[str, str, str]:
        """A typed variant of a unit: (name, category, region_code)."""
        rng, n, r = self.rng, u.name, self.regions
        code = u.region_code
        if "prefix" in self.noise and code and rng.random() < 0.5:
            path = _place_names(r, code)
            own = path[-1]
            if n.startswith(own) and rng.random() < 0.5 and u.category not in ("省级科协", "市级科协", "县级科协"):
                n = "".join(path[:-1]) + n if rng.random() < 0.5 else n  # add the higher levels
            elif n.startswith(own) and len(path) > 0:
                n = _short(own, r.level(code)) + n[len(own):]
        if "legacy" in self.noise and code and r.prefecture(code) in LEGACY and rng.random() < 0.5:
            old = LEGACY[r.prefecture(code)]
            n = n.replace(r.by_code[r.prefecture(code)].name, old)
        if "abbrev" in self.noise and "科学技术协会" in n and rng.random() < 0.5:
            n = n.replace("科学技术协会", "科协")
        if "notes" in self.noise and rng.random() < 0.2:
            n += rng.choice(NOTES)
        if "typo" in self.noise and rng.random() < 0.08:
            spots = [i for i, ch in enumerate(n) if ch in TYPOS and TYPOS[ch] != ch]
            if spots:
                i = rng.choice(spots)
                n = n[:i] + TYPOS[n[i]] + n[i + 1:]
        if "trad" in self.noise and rng.random() < 0.1:
            n = self.s2t.convert(n)
        if "width" in self.noise and rng.random() < 0.1:
            n = n.replace("(", "（").replace(")", "）").translate({0x30 + i: 0xFF10 + i for i in range(10)})
        if "punct" in self.noise and rng.random() < 0.25:
            n = (" " if rng.random() < 0.3 else "") + n + rng.choice(PUNCT)
        category = u.category
        if "category" in self.noise and rng.random() < 0.06:
            category = rng.choice(["", "", "其他", "企业科协", "科普教育基地"])
        if code and "coarse_code" in self.noise and rng.random() < 0.08:
            code = r.path(code)[0 if rng.random() < 0.5 else max(len(r.path(code)) - 2, 0)]
        if code and "empty_code" in self.noise and rng.random() < 0.1:
            code = ""
        return n, category, code

    def records(self, dup_share: float) -> pd.DataFrame:
        rng, rows = self.rng, []
        for u in self.units:
            n_records = 1 + (rng.choice([1, 1, 1, 2, 3]) if rng.random() < dup_share else 0)
            for i in range(n_records):
                oid = str(rng.randrange(10**8, 10**9))
                name, cat, code = (u.name, u.category, u.region_code) if i == 0 else self.variant(u)
                region = "".join(_place_names(self.regions, code)) if code and rng.random() < 0.8 else ""
                created = pd.Timestamp("2018-01-01") + pd.Timedelta(days=rng.randrange(0, 2000))
                rows.append({"org_id": oid, "name": name, "category": cat, "region_code": code, "region": region,
                             "parent_id": "", "certified": rng.choice(["是", "否", "否", "true", "0"]) if i == 0 else
                             rng.choice(["否", "false", "0"]), "created_at": created.strftime(rng.choice(
                                 ["%Y-%m-%d %H:%M:%S", "%Y/%-m/%-d"])), "updated_at": "", "entity_id": u.entity_id,
                             "variation": self.variation if i else ""})
                u.records.append(oid)
        f = pd.DataFrame(rows).drop_duplicates("org_id")
        by_entity = {u.entity_id: u for u in self.units}
        parents = []
        for ent in f["entity_id"]:
            u = by_entity[ent]
            p = by_entity.get(u.parent)
            choice = rng.random() if "parents" in self.noise else 0.99
            if p is None or choice < 0.2:
                parents.append("")
            elif choice < 0.3 and p.parent:
                parents.append(rng.choice(by_entity[p.parent].records))  # skips a level
            elif choice < 0.35:
                parents.append(str(rng.randrange(10**8, 10**9)))  # a missing id
            elif choice < 0.4:
                parents.append(rng.choice(by_entity[rng.choice(self.units).entity_id].records))  # anywhere
            else:
                parents.append(rng.choice(p.records))  # the parent, possibly one of its duplicates
        f["parent_id"] = parents
        return f.sample(frac=1.0, random_state=rng.randrange(2**31)).reset_index(drop=True)


def generate(n_units: int = 3000, seed: int = 11, noise: frozenset[str] = ALL_NOISE, dup_share: float = 0.12,
             activities_per_unit: float = 0.7, generator: type[Generator] = Generator) -> dict[str, pd.DataFrame]:
    """``registry``, ``activities`` and the truth frames (``truth_orgs``, ``truth_activities``, ``truth_entities``;
    ``truth_variations`` when the generator names its variants' kinds, as ``bench.independent``'s does)."""
    g = generator(seed, frozenset(noise), default_regions())
    g.build_units(n_units)
    records = g.records(dup_share)
    rng, r = g.rng, g.regions
    by_entity = {u.entity_id: u for u in g.units}

    def province(u: Unit) -> str:
        if u.category in ("中国科协", "部委", "全国学会") or not u.region_code:
            return ""
        return r.province(u.region_code)

    acts = []
    for i in range(int(len(g.units) * activities_per_unit)):
        u = rng.choice(g.units)
        aid = str(2 * 10**9 + i)
        code = u.region_code or rng.choice(["110000", "310000"])
        if rng.random() < 0.05:  # no usable 归口单位: the place decides
            acts.append((aid, "科普日活动", "", code, "", "2023-09-15", "", r.province(code)))
            continue
        acts.append((aid, u.name + "科普日活动", rng.choice(u.records), code, u.name, "2023-09-16", u.entity_id,
                     province(u)))
    activities = pd.DataFrame(acts, columns=["activity_id", "title", "org_id", "region_code", "host_units",
                                             "start_date", "true_entity_id", "true_province_code"])
    truth_orgs = pd.DataFrame({
        "org_id": records["org_id"], "entity_id": records["entity_id"],
        "true_parent_entity_id": records["entity_id"].map(lambda e: by_entity[e].parent),
        "true_province_code": records["entity_id"].map(lambda e: province(by_entity[e])),
    })
    truth_entities = pd.DataFrame([{"entity_id": u.entity_id, "category": u.category, "name": u.name,
                                    "region_code": u.region_code, "parent_entity_id": u.parent,
                                    "province_code": province(u), "n_records": len(u.records)} for u in g.units])
    frames = {"registry": records.drop(columns=["entity_id", "variation"]),
            "activities": activities.drop(columns=["true_entity_id", "true_province_code"]),
            "truth_orgs": truth_orgs,
            "truth_activities": activities[["activity_id", "true_entity_id", "true_province_code"]],
            "truth_entities": truth_entities}
    if (records["variation"] != "").any():
        frames["truth_variations"] = records[["org_id", "entity_id", "variation"]]
    return frames


def write(frames: dict[str, pd.DataFrame], outdir, truth: bool = True) -> None:
    from pathlib import Path

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        if truth or not name.startswith("truth"):
            frame.to_csv(outdir / f"{name}.csv", index=False, encoding="utf-8")
