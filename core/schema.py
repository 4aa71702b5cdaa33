"""Column names, header aliases and category rules shared by every stage."""
from __future__ import annotations

REGISTRY_COLUMNS = ["org_id", "name", "category", "region_code", "region", "parent_id", "certified",
                    "created_at", "updated_at"]
REGISTRY_REQUIRED = ["org_id", "name"]
ACTIVITY_COLUMNS = ["activity_id", "title", "org_id", "region_code", "host_units", "start_date"]
ACTIVITY_REQUIRED = ["activity_id", "org_id"]
# a source id is a plain identifier: letters, digits and _ - . (not leading), at most 64 characters.
# Anything else (a formula such as =HYPERLINK(…), spaces, invisible characters) is quarantined.
PLAIN_ID = r"^[0-9A-Za-z][0-9A-Za-z_.\-]{0,63}$"

# Chinese headers of the contract; real exports also carry them with stray spaces or brackets.
REGISTRY_HEADERS_ZH = {
    "组织ID": "org_id", "组织名称": "name", "组织类别": "category", "所在地区代码": "region_code",
    "所在地区": "region", "上级组织ID": "parent_id", "已认证": "certified", "创建时间": "created_at",
    "更新时间": "updated_at",
}
ACTIVITY_HEADERS_ZH = {
    "活动ID": "activity_id", "活动名称": "title", "归口单位ID": "org_id", "所在地区代码": "region_code",
    "主办单位": "host_units", "活动开始时间": "start_date",
}

CATEGORIES = ["中国科协", "部委", "全国学会", "省级科协", "市级科协", "县级科协", "企业科协", "高校科协",
              "地方学会", "科普教育基地", "其他"]
ASSOCIATION_LEVEL = {"省级科协": 1, "市级科协": 2, "县级科协": 3}
ASSOCIATION_BY_LEVEL = {v: k for k, v in ASSOCIATION_LEVEL.items()}  # 1 → 省级科协, the 科协 of a level
NATIONAL_CATEGORIES = {"中国科协", "部委", "全国学会"}
LOCAL_UNIT_CATEGORIES = {"企业科协", "高校科协", "地方学会", "科普教育基地", "其他"}

TRUE_WORDS = {"是", "true", "1", "yes", "y", "已认证", "t", "√"}
FALSE_WORDS = {"否", "false", "0", "no", "n", "未认证", "f", "", "×"}

# Export files of the contract, column for column.
EXPORT_COLUMNS = {
    "organizations.csv": ["org_id", "name", "category", "region_code", "parent_id", "province_code", "aliases"],
    "id_map.csv": ["source_org_id", "canonical_org_id", "how"],
    "merge_suggestions.csv": ["left_org_id", "right_org_id", "score", "status"],
    "activity_visibility.csv": ["activity_id", "canonical_org_id", "province_code"],
}
