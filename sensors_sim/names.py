"""Names of the simulated city's areas, in English and Chinese."""

from __future__ import annotations

import random

CITY_CODE = "CB"
CITY_NAME = ("Citybrain City", "城市大脑示范市")

DISTRICT_NAMES: tuple[tuple[str, str], ...] = (
    ("Riverside", "滨江区"),
    ("West Lake", "西湖区"),
    ("Upper Town", "上城区"),
    ("Gongshu", "拱墅区"),
    ("Xiaoshan", "萧山区"),
    ("Yuhang", "余杭区"),
    ("Linping", "临平区"),
    ("Qiantang", "钱塘区"),
    ("Fuyang", "富阳区"),
    ("Lin'an", "临安区"),
)

STREET_NAMES: tuple[tuple[str, str], ...] = (
    ("Changhe", "长河街道"),
    ("Puyan", "浦沿街道"),
    ("Xixing", "西兴街道"),
    ("Lingyin", "灵隐街道"),
    ("Beishan", "北山街道"),
    ("Hubin", "湖滨街道"),
    ("Qingbo", "清波街道"),
    ("Xiaoying", "小营街道"),
    ("Wangjiang", "望江街道"),
    ("Nanxing", "南星街道"),
    ("Ziyang", "紫阳街道"),
    ("Jiubao", "九堡街道"),
    ("Mishixiang", "米市巷街道"),
    ("Hushu", "湖墅街道"),
    ("Xiaohe", "小河街道"),
    ("Banshan", "半山街道"),
    ("Chengxiang", "城厢街道"),
    ("Beigan", "北干街道"),
    ("Shushan", "蜀山街道"),
    ("Xintang", "新塘街道"),
    ("Wuchang", "五常街道"),
    ("Cangqian", "仓前街道"),
    ("Xianlin", "闲林街道"),
    ("Liangzhu", "良渚街道"),
    ("Donghu", "东湖街道"),
    ("Nanyuan", "南苑街道"),
    ("Xiasha", "下沙街道"),
    ("Baiyang", "白杨街道"),
    ("Fuchun", "富春街道"),
    ("Yinhu", "银湖街道"),
    ("Jincheng", "锦城街道"),
    ("Qingshanhu", "青山湖街道"),
)


def district_name(index: int) -> tuple[str, str]:
    """English and Chinese name of the district at ``index`` (0-based)."""
    if index < len(DISTRICT_NAMES):
        return DISTRICT_NAMES[index]
    return f"District {index + 1}", f"第{index + 1}区"


def street_names(count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` distinct street names in a seeded order, numbered once the list runs out."""
    pool = list(STREET_NAMES)
    random.Random(f"citybrain-streets:{seed}").shuffle(pool)
    extra = [(f"Street {n}", f"第{n}街道") for n in range(len(pool) + 1, count + 1)]
    return (pool + extra)[:count]
