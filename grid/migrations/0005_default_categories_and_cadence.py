"""The default event categories (大类 → 小类) and patrol cadence rules; editable in the admin afterwards.

The data is frozen here, as migrations must be.

Sources: the grid governance plans — the bottom-line categories of the first-report incentive
(篇7: "安保维稳类、违法建设类、安全生产类、环境保护类"), the village grid duties (篇6:
信息采报, 便民服务, 矛盾化解, 隐患排查, 卫生管理, 人口管理, 其他工作), and the items the plans name;
The township big patrol plan's catalog items where an event is the same thing (违法建筑, 露天焚烧…).
"""

from django.db import migrations

EVENT_CATEGORIES: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("AW", "安保维稳", [("AW01", "矛盾纠纷"), ("AW02", "治安隐患"), ("AW03", "重点人员动态"), ("AW04", "负面舆情")]),
    ("WJ", "违法建设", [("WJ01", "违法建筑（私搭乱建）"), ("WJ02", "违法用地"), ("WJ03", "农村非法占用宅基地"),
                      ("WJ04", "违法占用林地")]),
    ("AQ", "安全生产", [("AQ01", "生产经营安全隐患"), ("AQ02", "消防安全隐患"), ("AQ03", "道路交通安全"),
                      ("AQ04", "防风防汛"), ("AQ05", "野外用火（露天焚烧）")]),
    ("HB", "环境保护", [("HB01", "固废物非法处理"), ("HB02", "大气污染"), ("HB03", "水污染"), ("HB04", "土壤污染"),
                      ("HB05", "饮用水源保护"), ("HB06", "禁养区畜禽养殖")]),
    ("WS", "公共卫生", [("WS01", "环境卫生（乱堆乱放）"), ("WS02", "疫病防控"), ("WS03", "突发公共卫生事件"),
                      ("WS04", "动物防疫与病死畜禽")]),
    ("RK", "人口管理", [("RK01", "流动人口"), ("RK02", "特殊人群服务管理")]),
    ("MS", "便民服务", [("MS01", "救助帮扶"), ("MS02", "代办帮办"), ("MS03", "群众诉求")]),
    ("QT", "其他", [("QT01", "其他事项")]),
]

# The grid governance plans: 日巡查 ("每天在各自责任网格进行巡查"), weekly visits ("每周至少对联系村民
# 走访一遍"), 月排查 ("每月1日和15日…集中排查"), 季度联查 ("每个季度初…联合检查").
CADENCE_RULES: list[tuple[str, str, str, int]] = [
    ("日巡查", "daily", "daily", 1),
    ("入户走访", "visit", "weekly", 1),
    ("月排查（每月1日、15日）", "sweep", "semimonthly", 1),
    ("季度联查", "joint", "quarterly", 1),
]


def load(apps, schema_editor):
    EventCategory = apps.get_model("grid", "EventCategory")
    CadenceRule = apps.get_model("grid", "CadenceRule")
    for order, (code, name, children) in enumerate(EVENT_CATEGORIES, start=1):
        parent, _ = EventCategory.objects.update_or_create(code=code, defaults={"name": name, "sort_order": order, "parent": None})
        for child_order, (child_code, child_name) in enumerate(children, start=1):
            EventCategory.objects.update_or_create(
                code=child_code, defaults={"name": child_name, "sort_order": child_order, "parent": parent},
            )
    for name, kind, period, times in CADENCE_RULES:
        CadenceRule.objects.get_or_create(name=name, defaults={"patrol_kind": kind, "period": period, "times": times})


def unload(apps, schema_editor):
    EventCategory = apps.get_model("grid", "EventCategory")
    codes = [code for code, _, _ in EVENT_CATEGORIES]
    child_codes = [child for _, _, children in EVENT_CATEGORIES for child, _ in children]
    EventCategory.objects.filter(code__in=child_codes, events__isnull=True).delete()
    EventCategory.objects.filter(code__in=codes, children__isnull=True).delete()
    apps.get_model("grid", "CadenceRule").objects.filter(name__in=[name for name, *_ in CADENCE_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("grid", "0004_event_permissions")]

    operations = [migrations.RunPython(load, unload)]
