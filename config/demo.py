"""The demo county (`manage.py load_demo`): regions, departments, patrol setup and one login per role.
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

import datetime
import io
import random
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple
from unittest import mock

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image

from governance import audit
from grid import boundaries, event_counts, events, patrols, services
from grid import households as household_services
from grid.models import (
    PATH_SEPARATOR,
    CategoryAttribute,
    CategoryRouting,
    Department,
    Event,
    EventCategory,
    FlowPolicy,
    Household,
    PatrolLog,
    Post,
    Region,
    Role,
    Tier,
)
from inspection.models import (
    AssessmentExemption,
    CatalogItem,
    IncentiveRate,
    InspectionGroup,
    InspectionRound,
    LookBack,
    PatrolCategory,
    PatrolFinding,
    PatrolReport,
    RoundTarget,
    SupervisionCheck,
    SupervisionGroup,
    VillagePatrol,
)
from inspection.patrol import findings as patrol_findings
from inspection.patrol import reports as patrol_reports
from inspection.rounds import onsite
from inspection.rounds.focus_taxonomy import STANDARD_FOCUS_TAXONOMY, ensure_focus
from rectification import services as rectification_services
from rectification.imports import import_rectification
from rectification.models import Accountability, MoneyRecovered, PlanMeasure, PlanMeeting
from rectification.tasks import flag_overdue

from .demo_boundaries import demo_boundaries

User = get_user_model()

DEMO_COUNTY = "某县"
DEMO_COUNTY_CODE = "MX"
DEMO_PASSWORD = "Demo@2026"
ADMIN_USERNAME = "admin"
ADMIN_FULL_NAME = "系统管理员"

# The county inspection round plan, 一、巡察对象: (township, number of villages, the village it names).
ROUND_PLAN_TOWNSHIPS: list[tuple[str, int, str]] = [
    ("赵村镇", 12, "河南村"),
    ("张店乡", 16, "张庄村"),
    ("辛集乡", 12, "肖老庄村"),
    ("张官营镇", 12, "韭菜里村"),
    ("瀼河乡", 12, "瀼西村"),
    ("观音寺乡", 11, "太平堡村"),
    ("下汤镇", 12, "十亩地洼村"),  # "12 个村(社区)"
]

TAIPING = "太平镇"
TAIPING_COMMUNITY = "太平社区"  # the plan's 太平居委 (residents' committee)

# The township big patrol plan, 二、组织领导: the four supervision groups and what each checks.
# (number, name, scope as the plan words it, villages and parks in the scope)
SUPERVISION_GROUPS: list[tuple[int, str, str, list[str]]] = [
    (
        1, "第一巡查督查组",
        "太平居委辖区范围，以及墟镇范围（东至富康华府、龙湾工业大道，南至环城路沙塘变电站，"
        "西至沙塘太平围村，北至太平初级中学）。",
        [TAIPING_COMMUNITY],
    ),
    (
        2, "第二巡查督查组",
        "负责楼星、大楼、大南、中南、南北、蒲兴、南蒲、沙塘、团结村委会辖区范围。",
        ["楼星村", "大楼村", "大南村", "中南村", "南北村", "蒲兴村", "南蒲村", "沙塘村", "团结村"],
    ),
    (
        3, "第三巡查督查组",
        "负责马塘、天塘、马岳、天良、北坑、年丰、石桐、金门村委会辖区范围，包括马岳、盈富工业园区范围。",
        ["马塘村", "天塘村", "马岳村", "天良村", "北坑村", "年丰村", "石桐村", "金门村", "马岳工业园区", "盈富工业园区"],
    ),
    (
        4, "第四巡查督查组",
        "龙湾、秦皇、山心、郭屋、车公洞村委会辖区范围，包括龙湾工业园区范围。",
        ["龙湾村", "秦皇村", "山心村", "郭屋村", "车公洞村", "龙湾工业园区"],
    ),
]

INDUSTRIAL_PARKS = ["马岳工业园区", "盈富工业园区", "龙湾工业园区"]
DEMO_INCENTIVES = {"优秀": 3000, "良好": 2000, "一般": 1000, "合格": 500}  # yuan per quarter

# 太平镇's village-tier regions in code order: the community, the villages, then the industrial parks.
TAIPING_VILLAGES: list[str] = [
    *[name for _number, _name, _scope, names in SUPERVISION_GROUPS for name in names if name not in INDUSTRIAL_PARKS],
    *INDUSTRIAL_PARKS,
]

# The township big patrol plan, 二、组织领导 (成员) and 四、职责分工. The plan calls one office both 党建办 and
# 党建工作办, and one station both 兽医站 and 畜牧兽医站; the longer names are used.
TAIPING_DEPARTMENTS: list[str] = [
    "党政综合办",
    "党建工作办",
    "纪检监察办",
    "综合治理办",
    "农业农村办",
    "经济发展办",
    "生态环境保护办",
    "应急管理办",
    "综合行政执法办",
    "自然资源所",
    "交通办",
    "农业综合服务中心",
    "畜牧兽医站",
    "林业站",
    "宣传办",
    "派出所",
    "财政所",
]

# The township big patrol plan, 四、职责分工: the catalog categories each office leads (巡查监管).
# The plan's "土污染" is read as 土壤污染.
PATROL_CATEGORIES: dict[str, list[str]] = {
    "农业农村办": ["农村非法占用宅基地", "野外用火（露天焚烧）", "漫水河", "禁养区畜禽养殖", "撂荒耕地及复耕", "非农化、非粮化"],
    "经济发展办": ["规划建设", "道路交通"],
    "生态环境保护办": [
        "固废物非法处理", "大气污染", "水污染", "土壤污染", "饮用水源保护", "农业污染", "生活污染", "工业污染",
    ],
    "应急管理办": ["安全生产", "防风防汛", "减灾救灾"],
    "自然资源所": ["违法用地", "违法建筑"],
    "畜牧兽医站": ["动物防疫", "乱抛弃病死畜禽"],
    "林业站": ["违法占用林地", "野生动物保护", "违规砍伐"],
}

# 太平镇's patrol catalog (巡查目录, the plan's 附件2), one or more items per category above; the item's
# lead department is its category's. (code, category, item, points, evidence required)
CATALOG_ITEMS: list[tuple[str, str, str, str, str]] = [
    ("TP-01", "农村非法占用宅基地", "未经审批占用耕地或集体土地新建、扩建住宅", "3",
     "现场照片（带时间、经纬度水印）、位置示意图、建房户信息"),
    ("TP-02", "野外用火（露天焚烧）", "露天焚烧秸秆、垃圾或野外违规用火", "2", "现场照片或视频、焚烧地点及面积"),
    ("TP-03", "漫水河", "漫水河河道及两岸乱占、乱堆、乱建", "2", "现场照片、河段位置"),
    ("TP-04", "禁养区畜禽养殖", "禁养区内新建、复养畜禽养殖场（含已拆场原址新建）", "4",
     "现场照片、养殖品种和数量、禁养区范围图位置"),
    ("TP-05", "撂荒耕地及复耕", "耕地撂荒未复耕", "2", "地块照片、面积、承包户信息"),
    ("TP-06", "非农化、非粮化", "永久基本农田挖塘养鱼、种植苗木草皮等非农化、非粮化行为", "3", "地块照片、面积、图斑编号"),
    ("TP-07", "规划建设", "未取得乡村建设规划许可擅自建设", "3", "现场照片、建设位置、建设主体"),
    ("TP-08", "道路交通", "占道经营、乱堆乱放或设障碍影响道路通行", "1", "现场照片、路段位置"),
    ("TP-09", "固废物非法处理", "非法倾倒、填埋建筑垃圾或工业固体废物", "4", "现场照片、估算数量、倾倒位置"),
    ("TP-10", "大气污染", "露天喷涂、无防尘措施的土石方作业等扬尘污染", "2", "现场照片或视频"),
    ("TP-11", "水污染", "向河道、沟渠直排生产生活污水", "3", "排污口照片或视频、水体位置"),
    ("TP-12", "饮用水源保护", "饮用水源保护区内排污、养殖、垂钓游泳等违规行为", "4", "现场照片、保护区位置"),
    ("TP-13", "安全生产", "“三小场所”违规住人、无证经营危险化学品等安全生产隐患", "3", "现场照片、场所名称及负责人"),
    ("TP-14", "防风防汛", "山塘、危险边坡等防汛隐患点未设警示、未落实责任人", "2", "现场照片、隐患点位置"),
    ("TP-15", "违法用地", "未经批准非法占用土地、推填土", "5", "现场照片（带时间、经纬度水印）、面积、用地主体"),
    ("TP-16", "违法建筑", "新增违法建筑（含在建房屋、种植养殖棚舍）", "5", "现场照片、建筑面积、建设主体"),
    ("TP-17", "动物防疫", "未按规定免疫、检疫调运畜禽", "2", "现场照片、畜禽来源及数量"),
    ("TP-18", "乱抛弃病死畜禽", "乱抛弃病死畜禽", "3", "现场照片、抛弃地点、数量"),
    ("TP-19", "违法占用林地", "未经审批占用林地", "4", "现场照片、林地位置及面积"),
    ("TP-20", "野生动物保护", "非法捕猎、出售野生动物", "3", "现场照片或视频、物种及数量"),
    ("TP-21", "违规砍伐", "无采伐许可证砍伐林木", "4", "现场照片、伐桩数量、林地位置"),
]

# Village reports of 楼星村 and 大楼村 in the previous (-1) and current (0) month, so that the month's
# scores differ. (number, village, item code, month offset, day reported, day verified or None,
# verdict, where, what); days past today are moved back to today.
DEMO_REPORTS: list[tuple[str, str, str, int, int, int | None, str, str, str]] = [
    ("LX-D01", "楼星村", "TP-02", -1, 3, 5, PatrolReport.Verdict.TRUE, "楼星村第2网格北侧农田",
     "村民在田间焚烧秸秆，已现场劝止并扑灭。"),
    ("LX-D02", "楼星村", "TP-01", -1, 12, 16, PatrolReport.Verdict.DUPLICATE, "楼星村东片",
     "村民在自家承包地新建住宅地基（与镇农业农村办已登记的问题重复）。"),
    ("DL-D01", "大楼村", "TP-04", -1, 8, 10, PatrolReport.Verdict.FALSE, "大楼村后山",
     "疑似在禁养区复养生猪（核实为已备案的防疫隔离点）。"),
    ("LX-D03", "楼星村", "TP-05", 0, 1, 1, PatrolReport.Verdict.TRUE, "楼星村第3网格",
     "约 3 亩耕地撂荒，已通知承包户复耕。"),
    ("LX-D04", "楼星村", "TP-06", 0, 2, None, PatrolReport.Verdict.PENDING, "楼星村第1网格西侧",
     "基本农田内有人挖塘，待农业农村办核实。"),
    ("DL-D02", "大楼村", "TP-03", 0, 1, 2, PatrolReport.Verdict.TRUE, "大楼村漫水河段",
     "河岸堆放建筑材料，已责令清理。"),
]

# Findings by others: the group's finding is excused by 楼星村's earlier report; the 12345 complaint
# about 大楼村 deducts. (number, village, item code, source, month offset, day found, matched report)
DEMO_FINDINGS: list[tuple[str, str, str, str, int, int, str | None]] = [
    ("DC-D01", "楼星村", "TP-02", PatrolFinding.Source.TOWNSHIP_GROUP, -1, 9, "LX-D01"),
    ("RX-D01", "大楼村", "TP-09", PatrolFinding.Source.HOTLINE_12345, 0, 2, None),
]

# Which 太平镇 department leads each event category (吹哨报到 dispatch), after the departments' duties
# in the township big patrol plan, 四、职责分工; categories the plan does not assign go to the office
# that coordinates them (综合治理办 for stability, 党政综合办 for services).
CATEGORY_ROUTING: dict[str, str] = {
    "AW01": "综合治理办", "AW02": "派出所", "AW03": "综合治理办", "AW04": "宣传办",
    "WJ01": "自然资源所", "WJ02": "自然资源所", "WJ03": "农业农村办", "WJ04": "林业站",
    "AQ01": "应急管理办", "AQ02": "应急管理办", "AQ03": "交通办", "AQ04": "应急管理办", "AQ05": "农业农村办",
    "HB01": "生态环境保护办", "HB02": "生态环境保护办", "HB03": "生态环境保护办", "HB04": "生态环境保护办",
    "HB05": "生态环境保护办", "HB06": "农业农村办",
    "WS01": "综合行政执法办", "WS02": "党政综合办", "WS03": "应急管理办", "WS04": "畜牧兽医站",
    "RK01": "派出所", "RK02": "综合治理办",
    "MS01": "党政综合办", "MS02": "党政综合办", "MS03": "党政综合办", "QT01": "党政综合办",
}

# A few events at different steps, so that each demo login has something to open.
# (idempotency key, reporter, category code, title, description, steps: (username, decision, extra))
DEMO_EVENTS = [
    ("demo-event-1", "wanggeyuan", "WS01", "河道边垃圾堆放", "第1网格村道东侧河道边有生活垃圾堆放，约两立方米。", []),
    ("demo-event-2", "wanggeyuan", "AW01", "邻里宅基地界址纠纷", "两户村民因宅基地界址发生争执，经网格员劝解未果。",
     [("wanggezhang", "escalate", "网格调解未果，需村里协调")]),
    ("demo-event-3", "wanggeyuan", "AQ05", "田间露天焚烧秸秆", "第1网格北侧农田有人焚烧秸秆，烟雾较大。",
     [("wanggezhang", "escalate", "需镇农业农村办处理"), ("cunganbu", "escalate", "村里无执法权，上报镇里"),
      ("zongheban", "dispatch", "")]),
    ("demo-event-4", "wanggeyuan", "AQ03", "村道桥梁护栏缺损", "第1网格村道小桥东侧护栏缺损约五米，夜间通行有坠河危险。",
     [("wanggezhang", "escalate", "需村里协调维修"), ("cunganbu", "escalate", "村里无维修资金，上报镇里"),
      ("zongheban", "escalate", "桥梁属县管道路，报县网格化服务中心派单（镇呼县应）")]),
    ("demo-event-5", "wanggeyuan", "WJ01", "村民在公路控制区内搭建彩钢棚", "第1网格县道旁有村民搭建彩钢棚约三十平方米，占用公路控制区。",
     [("wanggezhang", "escalate", "需村里劝导"), ("cunganbu", "escalate", "劝导无效，上报镇里"),
      ("zongheban", "escalate", "县道控制区归县管，报县网格化服务中心"),
      ("zhongxin", "dispatch", "请县住建局依法查处", "县住房和城乡建设局")]),
]

DEMO_OVERDUE_EVENT = "demo-event-1"  # past its deadline at load: the first 督办 a newcomer sees

# A year of finished events for the dashboards' charts (load_demo --history): category, title, result.
HISTORY_KEY_PREFIX = "demo-history-"
HISTORY_EVENTS = [
    ("WS01", "村道边垃圾堆放", "已联系保洁员清运，现场已清理干净。"),
    ("WS01", "河道漂浮垃圾", "已组织人员打捞，河面恢复整洁。"),
    ("AQ05", "田间焚烧秸秆", "已现场劝阻并扑灭，对农户进行了宣传教育。"),
    ("AW01", "邻里用水纠纷", "经网格长现场调解，双方达成一致。"),
    ("AQ02", "沿街商铺灭火器过期", "已督促商户更换灭火器，并讲解消防常识。"),
    ("WS01", "村口乱堆建筑垃圾", "已督促户主清运完毕。"),
    ("AW01", "宅前屋后杂物占道", "已协调户主清理，道路恢复通行。"),
]

# Demo posts start on the first of last year, so that lists, compliance and reports have a history.
DEMO_POSTS_START = datetime.date(2025, 1, 1)
# 楼星村/第1网格's household register (户主, 住址, 困难户, 重点户); the hardship households first.
DEMO_HOUSEHOLDS = [
    ("陈秀英", "东片 3 组 5 号（独居老人）", True, False),
    ("王建国", "东片 3 组 11 号（残疾家庭）", True, False),
    ("刘志强", "东片 4 组 2 号", False, True),
    ("张丽华", "东片 4 组 8 号", False, False),
    ("赵明", "西片 1 组 6 号", False, False),
    ("孙红梅", "西片 1 组 9 号", False, False),
]

DEMO_RECTIFICATION_ROUND = "十五届县委第一轮巡察"
# The round 太平镇's paper plan cites: term, number, name, arrival, withdrawal, its group at 太平镇, the
# feedback date, and how many of 太平镇's villages it inspected with the township committee.
DEMO_FIRST_ROUND = ("十五届", 1, DEMO_RECTIFICATION_ROUND, datetime.date(2021, 9, 6), datetime.date(2021, 10, 30))
DEMO_FIRST_ROUND_GROUP = (3, "县委第三巡察组", datetime.date(2021, 12, 10), 6)

LOUXING = "楼星村"
# 楼星村's grids: the households of each grid's micro-grids (100–150 each); a grid's households are
# their sum (300–500), and the village's the sum of its grids (the grid governance plans).
LOUXING_GRIDS: list[list[int]] = [
    [130, 140, 150],
    [120, 130, 135],
    [110, 125, 120],
]


def grid_name(number: int) -> str:
    return f"第{number}网格"


def micro_grid_name(number: int) -> str:
    return f"第{number}微网格"


def numbered_village_name(number: int) -> str:
    return f"第{number}村"


def township_code(index: int) -> str:
    return f"{DEMO_COUNTY_CODE}-{index:02d}"


def _path(*names: str) -> str:
    return PATH_SEPARATOR.join(names)


TAIPING_PATH = _path(DEMO_COUNTY, TAIPING)
LOUXING_PATH = _path(DEMO_COUNTY, TAIPING, LOUXING)
GRID1_PATH = _path(LOUXING_PATH, grid_name(1))
# Where the demo events happen (longitude, latitude): the middle of 楼星村/第1网格/第1微网格, around which
# the demo boundaries are laid out.
DEMO_EVENT_POSITION = (Decimal("112.908000"), Decimal("33.738000"))


# Extra fields of two categories: code, name, type, required, description, options.
DEMO_CATEGORY_ATTRIBUTES: dict[str, list[tuple[str, str, str, bool, str, list[str]]]] = {
    "AQ03": [("lamp_no", "路灯编号", "string", False, "路灯杆上喷涂的编号，如 LX-017", []),
             ("hazard", "隐患类型", "singlevaluelist", True, "", ["路灯不亮", "井盖缺失", "路面坑洼", "其他"])],
    "WS01": [("households", "涉及户数", "number", False, "受影响的农户数", [])],
}


class DemoUser(NamedTuple):
    username: str
    role: str
    region: str  # path of names from the county
    department: str | None


# One login per role key (grid/roles.py), posted where that role works in the demo county.
DEMO_USERS: list[DemoUser] = [
    DemoUser("wanggeyuan", "grid_member", GRID1_PATH, None),
    DemoUser("wanggezhang", "grid_leader", GRID1_PATH, None),
    DemoUser("zhidaoyuan", "grid_instructor", LOUXING_PATH, None),
    DemoUser("cunganbu", "village_cadre", LOUXING_PATH, None),
    DemoUser("shuji", "community_secretary", LOUXING_PATH, None),  # reviews diaries where a region says so
    DemoUser("zongheban", "township_office", TAIPING_PATH, "综合行政执法办"),  # the plan's office
    DemoUser("nongyeban", "department", TAIPING_PATH, "农业农村办"),
    DemoUser("duchazu", "supervision_group", TAIPING_PATH, None),
    DemoUser("zhendangwei", "township_committee", TAIPING_PATH, None),
    DemoUser("jijian", "discipline", TAIPING_PATH, "纪检监察办"),
    DemoUser("xunchaban", "county_office", DEMO_COUNTY, None),
    DemoUser("lingdao", "leading_group", DEMO_COUNTY, None),
    DemoUser("xunchazu", "inspection_group", _path(DEMO_COUNTY, "赵村镇"), None),  # 第一巡察组's target
    DemoUser("zhongxin", "grid_centre", DEMO_COUNTY, "网格化服务中心"),  # 镇呼县应: the county centre
    DemoUser("zhujianju", "department", DEMO_COUNTY, "县住房和城乡建设局"),  # a county department (责任单位)
]

DEMO_FULL_NAMES: dict[str, str] = {
    "wanggeyuan": "张网格员",
    "wanggezhang": "李网格长",
    "zhidaoyuan": "王指导员",
    "cunganbu": "赵巡查员",
    "shuji": "杨书记",
    "zongheban": "周执法办",
    "nongyeban": "吴农业办",
    "duchazu": "郑督查员",
    "zhendangwei": "冯党委",
    "jijian": "陈纪检",
    "xunchaban": "褚巡察办",
    "lingdao": "卫组长",
    "xunchazu": "蒋巡察组",
    "zhongxin": "沈中心派单员",
    "zhujianju": "韩住建局",
}

# The county grid service centre and the county departments it dispatches to (责任单位).
COUNTY_CENTRE = "网格化服务中心"
COUNTY_DEPARTMENTS = ["县住房和城乡建设局", "县生态环境分局", "县市场监督管理局"]


# The county inspection round plan: the round (标题, 二、工作安排 (一)), its groups (二、工作安排 (四)) and the
# townships inspected in full (二、工作安排 (二)); the other five: 6 villages now + 6 by mobile inspection
# within 7 days of arrival. 第一巡察组's leader is the demo login `xunchazu`; the other leaders get a
# login of their own (xunchazu2 … xunchazu7, named as in the plan, posted at their township);
# deputies and members are named in ROUND_GROUPS only.
DEMO_ROUND = ("十五届", 2, "十五届县委第二轮巡察", datetime.date(2022, 4, 21), datetime.date(2022, 6, 10))
FULL_TOWNSHIPS = {"张店乡", "观音寺乡"}
FIXED_VILLAGES, MOBILE_VILLAGES, MOBILE_DAYS = 6, 6, 7


class RoundGroupPlan(NamedTuple):
    number: int
    name: str
    township: str
    leader_username: str
    leader_name: str
    deputies: tuple[str, ...]
    members: int


ROUND_GROUPS: list[RoundGroupPlan] = [
    RoundGroupPlan(1, "第一巡察组", "赵村镇", "xunchazu", "刘鹤华", ("党战法", "王玉明", "王帅钦"), 11),
    RoundGroupPlan(2, "第二巡察组", "张店乡", "xunchazu2", "杨永乾", ("张合", "程群尧", "刘占军"), 14),
    RoundGroupPlan(3, "第三巡察组", "辛集乡", "xunchazu3", "孙国申", ("刘学召", "焦俊峰", "乔京伟"), 11),
    RoundGroupPlan(4, "第四巡察组", "张官营镇", "xunchazu4", "杨国", ("蔡晓东", "刘建政", "王凯旋"), 11),
    RoundGroupPlan(5, "第五巡察组", "瀼河乡", "xunchazu5", "孙胜伟", ("陈德超", "郭士渠", "李廷涛"), 11),
    RoundGroupPlan(6, "第六巡察组", "观音寺乡", "xunchazu6", "宋润森", ("樊建兵", "孙辰辰"), 11),
    RoundGroupPlan(7, "第七巡察组", "下汤镇", "xunchazu7", "张宗辉", ("刘连盈", "李红阳", "陈滨滨"), 11),
]

# Village classes (the county inspection practice: 重点村/先进村/一般村), a demo mix: the village the
# plan names is a 重点村, the others cycle through this list.
DEMO_CLASS_CYCLE = ["advanced", "ordinary", "ordinary", "key", "ordinary", "advanced"]

# 楼星村's second patrol cadre (login, name) and its ledger: days ago, catalog items, route, what was found.
SECOND_CADRE = ("cunganbu2", "钱巡查员")
DEMO_VILLAGE_PATROLS = [
    (1, ["TP-01", "TP-05"], "村委会—一组—二组农田", "未发现问题"),
    (4, ["TP-02", "TP-03"], "沿河道至三组", "三组河道边有焚烧秸秆痕迹，已劝导并上报农业农村办。"),
    (8, ["TP-07", "TP-08"], "村主干道及两侧商铺", "未发现问题"),
    (15, ["TP-09", "TP-11"], "村东工业园区周边", "发现一处建筑垃圾倾倒点，已上报生态环境保护办。"),
]
# The supervision group's checks of 楼星村: days ago, ledger kept properly, what was seen.
DEMO_SUPERVISION_CHECKS = [
    (27, False, "台账个别记录缺巡查人员签名，已要求补齐。"),
    (3, True, "台账记录完整，巡查事项与目录一致；抽查两处点位未发现问题。"),
]
# 第一巡察组's working papers and talks (the round plan's 四、问题底稿制度): village (None = the township),
# focus (applies to, sub-heading), problem, what shows it, people involved, listed for the secretary's meeting.
DEMO_ONSITE_FINDINGS = [
    (None, "township", "了解整治形式主义、官僚主义情况", "部分工作台账补记补签，检查前突击整理",
     "抽查 2021 年度 12 本工作台账，其中 5 本存在事后补记、集中补签现象。", "", False),
    (None, "township", "了解执行中央八项规定和实施细则精神情况", "公务接待未严格执行审批和清单制度",
     "2021 年 6 笔公务接待无公函、无接待清单，合计 4,860 元。", "镇党政办主任", True),
    ("河南村", "village", "了解在农村“三资”管理过程中的违规问题", "村集体资产底数不清，部分资产未登记入账",
     "村部周边 3 处集体房屋出租未签订合同、租金未入账。", "", False),
]
# (village or None, date, interviewee, position, what was said)
DEMO_ONSITE_TALKS = [
    (None, datetime.date(2022, 4, 22), "赵某某", "镇党委书记", "介绍全镇党建、乡村振兴和整改落实总体情况。"),
    ("河南村", datetime.date(2022, 4, 26), "李某某", "村党支部书记", "反映村集体收入来源单一，资产管理制度执行不到位。"),
]


class DemoLogin(NamedTuple):
    username: str
    full_name: str
    role_name: str
    region: str
    department: str | None


@dataclass
class DemoSummary:
    """What one run of `load_demo` created (all zero on a re-run) and the demo logins."""

    county: Region | None = None
    regions: int = 0
    departments: int = 0
    patrol_categories: int = 0
    supervision_groups: int = 0
    users: int = 0
    posts: int = 0
    routes: int = 0
    events: int = 0
    patrols: int = 0
    households: int = 0
    group_members: int = 0
    catalog_items: int = 0
    patrol_reports: int = 0
    patrol_findings: int = 0
    inspection_rounds: int = 0
    inspection_groups: int = 0
    round_targets: int = 0
    focus_categories: int = 0
    rectification_items: int = 0
    boundaries: int = 0
    category_attributes: int = 0
    logins: list[DemoLogin] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any((self.regions, self.departments, self.patrol_categories, self.supervision_groups, self.users, self.posts,
                    self.routes, self.events, self.patrols, self.group_members, self.catalog_items, self.patrol_reports,
                    self.patrol_findings, self.inspection_rounds, self.inspection_groups, self.round_targets,
                    self.focus_categories, self.rectification_items, self.boundaries, self.category_attributes))


class _Loader:
    def __init__(self, by):
        self.by = by
        missing = {"county", "township", "village", "grid", "microgrid"} - set(Tier.objects.values_list("key", flat=True))
        if missing:
            raise ValidationError(f"缺少层级：{'、'.join(sorted(missing))}，请先运行 migrate。")
        self.tiers = {tier.key: tier for tier in Tier.objects.all()}
        self.regions: dict[str, Region] = {
            region.full_path: region
            for region in Region.objects.select_related("tier").filter(full_path__startswith=DEMO_COUNTY)
            if region.full_path == DEMO_COUNTY or region.full_path.startswith(DEMO_COUNTY + PATH_SEPARATOR)
        }
        self.taken_codes = set(Region.objects.exclude(code=None).values_list("code", flat=True))
        self._password_hash: str | None = None
        self.summary = DemoSummary()

    # --- regions ---------------------------------------------------------------------------------

    def region(self, parent: Region | None, name: str, tier: str, code: str, households: int | None = None) -> Region:
        full_path = _path(parent.full_path, name) if parent else name
        region = self.regions.get(full_path)
        if region is not None:
            return region
        # A code already used elsewhere is left off rather than stolen; the region is still created.
        region = services.create_region(
            parent=parent, name=name, tier=self.tiers[tier],
            code=None if code in self.taken_codes else code, households=households, by=self.by,
        )
        self.taken_codes.add(code)
        self.regions[full_path] = region
        self.summary.regions += 1
        return region

    def load_regions(self) -> Region:
        county = self.region(None, DEMO_COUNTY, "county", DEMO_COUNTY_CODE)
        self.summary.county = county
        for t_index, (township_name, count, named) in enumerate(ROUND_PLAN_TOWNSHIPS, start=1):
            township = self.region(county, township_name, "township", township_code(t_index))
            names = [named] + [numbered_village_name(n) for n in range(2, count + 1)]
            for v_index, village_name in enumerate(names, start=1):
                self.region(township, village_name, "village", f"{township_code(t_index)}-{v_index:03d}")

        t_index = len(ROUND_PLAN_TOWNSHIPS) + 1
        taiping = self.region(county, TAIPING, "township", township_code(t_index))
        for v_index, village_name in enumerate(TAIPING_VILLAGES, start=1):
            village_code = f"{township_code(t_index)}-{v_index:03d}"
            if village_name != LOUXING:
                self.region(taiping, village_name, "village", village_code)
                continue
            louxing = self.region(
                taiping, village_name, "village", village_code, households=sum(map(sum, LOUXING_GRIDS))
            )
            for g_index, micro_households in enumerate(LOUXING_GRIDS, start=1):
                grid = self.region(
                    louxing, grid_name(g_index), "grid", f"{village_code}-{g_index:02d}", households=sum(micro_households)
                )
                for m_index, households in enumerate(micro_households, start=1):
                    self.region(
                        grid, micro_grid_name(m_index), "microgrid", f"{village_code}-{g_index:02d}-{m_index:02d}",
                        households=households,
                    )
        return taiping

    def load_boundaries(self) -> None:
        """A boundary for every region of the demo county that has none (Open311 finds grids by them)."""
        county = self.summary.county
        anchor = (float(DEMO_EVENT_POSITION[0]), float(DEMO_EVENT_POSITION[1]))
        shapes = demo_boundaries(county, _path(GRID1_PATH, micro_grid_name(1)), anchor)
        for region in Region.objects.filter(path__startswith=county.path, boundary__isnull=True).order_by("path"):
            if region.full_path in shapes:
                boundaries.set_boundary(region, shapes[region.full_path], by=self.by)
                self.summary.boundaries += 1

    def load_category_attributes(self) -> None:
        """Extra fields two categories ask for when an event is reported (shown as Open311 attributes)."""
        for code, attributes in DEMO_CATEGORY_ATTRIBUTES.items():
            category = EventCategory.objects.filter(code=code).first()
            if category is None:
                continue
            for order, (attr_code, name, datatype, required, description, choices) in enumerate(attributes, 1):
                _, created = CategoryAttribute.objects.get_or_create(
                    category=category, code=attr_code,
                    defaults={"name": name, "datatype": datatype, "required": required, "description": description,
                              "choices": "\n".join(choices), "sort_order": order},
                )
                self.summary.category_attributes += created

    # --- township patrol setup -------------------------------------------------------------------

    def load_county_centre(self) -> None:
        """The county centre, a few county departments, and the county's flow policy with the county
        tier in its chain (镇呼县应), so that a township can escalate an event to the county."""
        county = self.regions[DEMO_COUNTY]
        existing = set(Department.objects.filter(region=county).values_list("name", flat=True))
        for name in [COUNTY_CENTRE, *COUNTY_DEPARTMENTS]:
            if name not in existing:
                services.create_department(name=name, region=county, by=self.by, is_grid_centre=name == COUNTY_CENTRE)
                self.summary.departments += 1
        if not FlowPolicy.objects.filter(region=county).exists():
            services.create_flow_policy(
                by=self.by, region=county, effective_from=timezone.localdate(), use_county=True,
                dispatch_at_township=True, dispatch_at_county=True, returns_before_escalation=2,
                send_back_limit=2, note="演示：乡镇处置不了的事件上报县网格化服务中心，由中心派单给县直部门",
                deadlines=[
                    {"tier": "grid", "urgency": "normal", "hours": 24, "action": "escalate"},
                    {"tier": "township", "urgency": "normal", "hours": 72, "action": "escalate_notify"},
                    {"tier": "county", "urgency": "normal", "hours": 120, "action": "supervise"},
                ],
            )

    def load_departments(self, taiping: Region) -> dict[str, Department]:
        departments = {d.name: d for d in Department.objects.filter(region=taiping)}
        for name in TAIPING_DEPARTMENTS:
            if name not in departments:
                departments[name] = services.create_department(name=name, region=taiping, by=self.by)
                self.summary.departments += 1
        return departments

    def load_patrol_categories(self, taiping: Region, departments: dict[str, Department]) -> None:
        existing = set(PatrolCategory.objects.filter(township=taiping).values_list("name", flat=True))
        for department_name, names in PATROL_CATEGORIES.items():
            for name in names:
                if name in existing:
                    continue
                category = PatrolCategory.objects.create(
                    township=taiping, name=name, lead_department=departments[department_name]
                )
                audit.record(
                    "patrol_category.create", actor=self.by, obj=category,
                    after=audit.snapshot(category, ["township", "name", "lead_department"]),
                )
                self.summary.patrol_categories += 1

    def load_supervision_groups(self, taiping: Region) -> None:
        existing = set(SupervisionGroup.objects.filter(township=taiping).values_list("number", flat=True))
        for number, name, scope, village_names in SUPERVISION_GROUPS:
            if number in existing:
                continue
            group = SupervisionGroup.objects.create(township=taiping, number=number, name=name, scope_description=scope)
            group.villages.set([self.regions[_path(TAIPING_PATH, village)] for village in village_names])
            audit.record(
                "supervision_group.create", actor=self.by, obj=group,
                after=audit.snapshot(group, ["township", "number", "name", "scope_description", "villages"]),
            )
            self.summary.supervision_groups += 1

    def load_catalog(self, taiping: Region) -> None:
        categories = {category.name: category for category in PatrolCategory.objects.filter(township=taiping)}
        existing = set(CatalogItem.objects.filter(township=taiping).values_list("code", flat=True))
        for code, category_name, name, points, evidence in CATALOG_ITEMS:
            category = categories.get(category_name)
            if code in existing or category is None:  # an admin may have renamed a category
                continue
            item = CatalogItem.objects.create(
                township=taiping, code=code, name=name, category=category, lead_department_id=category.lead_department_id,
                points=Decimal(points), evidence_required=evidence,
            )
            audit.record("catalog_item.create", actor=self.by, obj=item, after=audit.snapshot(
                item, ["township", "code", "name", "category", "lead_department", "points", "evidence_required"]))
            self.summary.catalog_items += 1

    def load_village_patrols(self, taiping: Region) -> None:
        """楼星村's patrol team (the demo cadre and a second cadre: the plan asks for at least two) and a few
        rows of its ledger (附件3) in the last weeks, so that the ledger opens on its work."""
        village = self.regions[LOUXING_PATH]
        if VillagePatrol.objects.filter(village=village).exists():
            return
        User = get_user_model()
        cadre = User.objects.get(username="cunganbu")
        partner, _ = self.user(SECOND_CADRE[0], SECOND_CADRE[1])
        role = Role.objects.get(key="village_cadre")
        if not Post.objects.active().filter(user=partner, role=role, region=village).exists():
            services.create_post(user=partner, role=role, region=village, start_date=DEMO_POSTS_START, by=self.by)
            self.summary.posts += 1
        items = {item.code: item for item in CatalogItem.objects.filter(township=taiping)}
        today = timezone.localdate()
        for days_ago, codes, route, findings in DEMO_VILLAGE_PATROLS:
            patrol_reports.record_village_patrol(
                by=cadre, village=village, date=today - datetime.timedelta(days=days_ago), patrollers=[cadre, partner],
                items=[items[code] for code in codes if code in items], route=route, findings=findings,
            )

    def load_supervision_checks(self, taiping: Region) -> None:
        """The demo supervision-group user's monthly checks of 楼星村 (附件1), last month's and this month's."""
        village = self.regions[LOUXING_PATH]
        group = SupervisionGroup.objects.filter(township=taiping, villages=village).first()
        if group is None or SupervisionCheck.objects.filter(group=group, village=village).exists():
            return
        member = get_user_model().objects.get(username="duchazu")
        today = timezone.localdate()
        for days_ago, ledger_ok, notes in DEMO_SUPERVISION_CHECKS:
            patrol_findings.record_check(by=member, group=group, village=village,
                                         date=today - datetime.timedelta(days=days_ago), checked_by=[member],
                                         ledger_ok=ledger_ok, notes=notes)

    def load_patrol_reports(self, taiping: Region) -> None:
        """A few reports and findings, entered as the lead departments would have verified them."""
        today = timezone.localdate()
        this_month = today.replace(day=1)
        months = {0: this_month, -1: (this_month - datetime.timedelta(days=1)).replace(day=1)}

        def day(offset: int, number: int) -> datetime.date:
            return min(months[offset] + datetime.timedelta(days=number - 1), today)

        def moment(date: datetime.date) -> datetime.datetime:
            return timezone.make_aware(datetime.datetime.combine(date, datetime.time(10, 0)))

        items = {item.code: item for item in CatalogItem.objects.filter(township=taiping)}
        users = {user.username: user for user in get_user_model().objects.filter(
            username__in={"cunganbu", "nongyeban", "zongheban", "duchazu"})}
        reports = {report.number: report for report in PatrolReport.objects.filter(township=taiping)}
        fields = ["township", "village", "number", "item", "occurred_at", "location", "description", "reported_on",
                  "reporter", "verdict", "verified_on", "verified_by", "points", "registered_at"]
        for number, village, code, offset, reported_day, verified_day, verdict, location, description in DEMO_REPORTS:
            if number in reports or code not in items:
                continue
            item, reported_on = items[code], day(offset, reported_day)
            verified_on = day(offset, verified_day) if verified_day else None
            report = PatrolReport.objects.create(
                township=taiping, village=self.regions[_path(TAIPING_PATH, village)], number=number, item=item,
                occurred_at=moment(reported_on) - datetime.timedelta(days=1), location=location,
                description=description, reported_on=reported_on,
                reporter=users.get("cunganbu") if village == LOUXING else None,
                verdict=verdict, verified_on=verified_on,
                verified_by=users.get("nongyeban") if verified_on else None,
                verification_note="经现场核实。" if verified_on else "",
                points=item.points if verdict == PatrolReport.Verdict.TRUE else Decimal(0),
                registered_at=moment(verified_on) if verified_on else None,
            )
            audit.record("patrol_report.create", actor=self.by, obj=report, after=audit.snapshot(report, fields))
            reports[number] = report
            self.summary.patrol_reports += 1

        groups = {village.pk: group for group in SupervisionGroup.objects.filter(township=taiping)
                  for village in group.villages.all()}
        existing = set(PatrolFinding.objects.filter(township=taiping).values_list("number", flat=True))
        fields = ["township", "village", "number", "item", "source", "group", "discovered_on", "location",
                  "description", "is_true", "matched_report", "points", "recorded_by", "registered_at", "registered_by"]
        for number, village_name, code, source, offset, found_day, matched in DEMO_FINDINGS:
            if number in existing or code not in items:
                continue
            village, discovered_on = self.regions[_path(TAIPING_PATH, village_name)], day(offset, found_day)
            by_group = source == PatrolFinding.Source.TOWNSHIP_GROUP
            finding = PatrolFinding.objects.create(
                township=taiping, village=village, number=number, item=items[code], source=source,
                group=groups.get(village.pk) if by_group else None, discovered_on=discovered_on,
                location=f"{village_name}辖区", is_true=True, matched_report=reports.get(matched) if matched else None,
                description="督查组巡查发现。" if by_group else "群众致电12345反映，经核实属实。",
                points=items[code].points, recorded_by=users.get("duchazu" if by_group else "zongheban"),
                registered_at=moment(discovered_on), registered_by=users.get("zongheban"),
            )
            audit.record("patrol_finding.create", actor=self.by, obj=finding, after=audit.snapshot(finding, fields))
            self.summary.patrol_findings += 1

    def load_patrol_rules(self, taiping: Region) -> None:
        """The industrial parks are not 行政村(居) and not assessed (五、(一)); the township's quarterly
        reward per grade (a demo plan's figures: the plan leaves the amounts to the 班子会议)."""
        for name in INDUSTRIAL_PARKS:
            park = self.regions[_path(TAIPING_PATH, name)]
            exemption, created = AssessmentExemption.objects.get_or_create(region=park)
            if created:
                audit.record("assessment_exemption.create", actor=self.by, obj=park,
                             after={"region": park.full_path, "reason": exemption.reason})
        since = datetime.date(timezone.localdate().year - 1, 1, 1)
        for grade, amount in DEMO_INCENTIVES.items():
            IncentiveRate.objects.get_or_create(township=taiping, grade=grade, effective_from=since,
                                                defaults={"amount": Decimal(amount)})

    def load_routing(self, taiping: Region, departments: dict[str, Department]) -> None:
        existing = set(CategoryRouting.objects.filter(township=taiping).values_list("category__code", flat=True))
        categories = {c.code: c for c in EventCategory.objects.filter(code__in=CATEGORY_ROUTING)}
        for code, department_name in CATEGORY_ROUTING.items():
            if code in existing or code not in categories:  # an admin may have removed a category
                continue
            route = CategoryRouting.objects.create(
                township=taiping, category=categories[code], department=departments[department_name]
            )
            audit.record("category_routing.create", actor=self.by, obj=route,
                         after=audit.snapshot(route, ["township", "category", "department"]))
            self.summary.routes += 1

    def load_events(self) -> None:
        users = {user.username: user for user in get_user_model().objects.filter(
            username__in={"wanggeyuan", "wanggezhang", "cunganbu", "zongheban", "zhongxin"})}
        grid = self.regions[_path(TAIPING_PATH, LOUXING, grid_name(1))]
        categories = {c.code: c for c in EventCategory.objects.filter(code__in=[e[2] for e in DEMO_EVENTS])}
        for number, (key, reporter, code, title, description, steps) in enumerate(DEMO_EVENTS, start=1):
            if code not in categories:
                continue
            event, created = events.report_event(
                by=users[reporter], region=grid, category=categories[code], title=title, description=description,
                occurred_at=timezone.now() - datetime.timedelta(hours=2 + number), idempotency_key=key,
                latitude=DEMO_EVENT_POSITION[1], longitude=DEMO_EVENT_POSITION[0], address="楼星村第1网格",
            )
            if not created:
                continue
            self.summary.events += 1
            for username, decision, reason, *department in steps:  # a county dispatch names its department
                events.handle_event(
                    event, by=users[username], decision=decision, reason=reason, opinion=reason if department else "",
                    department=Department.objects.get(name=department[0]) if department else None)
                event.refresh_from_db()
            if key == DEMO_OVERDUE_EVENT:
                self.pass_deadline(event)

    def pass_deadline(self, event) -> None:
        """The demo's first event has waited past its step's deadline (reported hours ago, never handled),
        so that the periodic 督办 (`make run` runs it beside the server) shows a supervision message at once."""
        events.set_step_due(event, timezone.now() - datetime.timedelta(hours=1))

    def load_event_history(self) -> None:
        """A year of finished events at 楼星村's first grid (most resolved on the spot and verified, some
        rejected), so that the dashboards' charts by month and category show something. Each event goes
        through the real services at its own past time (the clock is set back while it is reported and
        handled), so its audit history and timestamps agree. Only with `load_demo --history` (make run)."""
        if Event.objects.filter(idempotency_key__startswith=HISTORY_KEY_PREFIX).exists():
            return
        users = {user.username: user for user in get_user_model().objects.filter(
            username__in={"wanggeyuan", "wanggezhang"})}
        grid = self.regions[_path(TAIPING_PATH, LOUXING, grid_name(1))]
        categories = {c.code: c for c in EventCategory.objects.filter(code__in=[row[0] for row in HISTORY_EVENTS])}
        rng = random.Random(2026)
        today = timezone.now()

        def photo() -> SimpleUploadedFile:
            buffer = io.BytesIO()
            Image.new("RGB", (64, 48), (rng.randint(60, 200), rng.randint(90, 180), 80)).save(buffer, "JPEG")
            return SimpleUploadedFile("现场处置.jpg", buffer.getvalue(), content_type="image/jpeg")

        for months_back in range(12, 0, -1):
            for number in range(rng.randint(2, 5)):
                code, title, result = rng.choice(HISTORY_EVENTS)
                if code not in categories:
                    continue
                reported = today - datetime.timedelta(days=30 * months_back - rng.randint(0, 25), hours=rng.randint(1, 9))
                with mock.patch("django.utils.timezone.now", return_value=reported):
                    event, created = events.report_event(
                        by=users["wanggeyuan"], region=grid, category=categories[code], title=title,
                        description=f"{title}（日常巡查发现）。", occurred_at=reported - datetime.timedelta(hours=1),
                        idempotency_key=f"{HISTORY_KEY_PREFIX}{months_back}-{number}",
                        latitude=DEMO_EVENT_POSITION[1], longitude=DEMO_EVENT_POSITION[0], address="楼星村第1网格",
                    )
                if not created:
                    continue
                # (Event.created_at's default is the function itself, which the patched clock does not reach.)
                Event.objects.filter(pk=event.pk).update(created_at=reported)
                self.summary.events += 1
                handled = reported + datetime.timedelta(hours=rng.randint(2, 30))
                with mock.patch("django.utils.timezone.now", return_value=handled):
                    if rng.random() < 0.12:
                        events.handle_event(event, by=users["wanggezhang"], decision="reject",
                                            reason="经核实不属于网格事件，已告知反映人。")
                        continue
                    events.handle_event(event, by=users["wanggezhang"], decision="resolve", result=result,
                                        files=[photo()])
                with mock.patch("django.utils.timezone.now", return_value=handled + datetime.timedelta(hours=3)):
                    events.verify_event(event, by=users["wanggeyuan"], satisfied=True)
        # The report times were set back around the services: count the events by month again.
        event_counts.rebuild()

    def load_patrols(self) -> None:
        """A week of the grid member's patrols and diaries (the last one not yet reviewed)."""
        member = get_user_model().objects.get(username="wanggeyuan")
        leader = get_user_model().objects.get(username="wanggezhang")
        if PatrolLog.objects.filter(member=member).exists():
            return
        grid = self.regions[_path(TAIPING_PATH, LOUXING, grid_name(1))]
        today = timezone.localdate()
        for days_ago in range(7, 0, -1):
            day = today - datetime.timedelta(days=days_ago)
            patrols.record_patrol(
                by=member, region=grid, kind="daily", date=day, started_at=datetime.time(8, 30),
                ended_at=datetime.time(10, 0), route="村委会—主干道—河道—东片居民区", findings="未发现异常。",
            )
            self.summary.patrols += 1
            diary, _ = patrols.write_diary(by=member, region=grid, date=day,
                                           content="上午日常巡查；下午走访重点户，整理台账。")
            if days_ago > 1:
                patrols.review_diary(diary, by=leader, comment="已阅。")
        patrols.record_patrol(
            by=member, region=grid, kind="visit", date=today - datetime.timedelta(days=2),
            started_at=datetime.time(14, 0), ended_at=datetime.time(16, 30), route="东片 12 户",
            households_visited=12, findings="独居老人 2 户，已告知村委会。",
        )
        self.summary.patrols += 1

    def load_households(self) -> None:
        """楼星村/第1网格's household register and a month and a half of visits: the grid leader visits the
        hardship households weekly and everybody monthly, but missed 王建国 in last week (one overdue
        period on 巡查频次落实); the grid member has visited the key household this quarter."""
        grid = self.regions[_path(TAIPING_PATH, LOUXING, grid_name(1))]
        if Household.objects.filter(region=grid).exists():
            return
        User = get_user_model()
        leader, member = User.objects.get(username="wanggezhang"), User.objects.get(username="wanggeyuan")
        today = timezone.localdate()
        registered = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)  # last month's 1st
        homes = {}
        for head_name, address, hardship, key in DEMO_HOUSEHOLDS:
            homes[head_name] = household_services.add_household(
                by=leader, region=grid, head_name=head_name, address=address, is_hardship=hardship, is_key=key,
                registered_on=registered)
        this_monday = today - datetime.timedelta(days=today.weekday())
        missed_week = this_monday - datetime.timedelta(days=7)
        monday = registered - datetime.timedelta(days=registered.weekday())
        while monday <= today:
            day = min(max(monday + datetime.timedelta(days=1), registered), today)
            for head_name in ("陈秀英", "王建国"):
                if not (head_name == "王建国" and monday == missed_week):
                    household_services.record_visit(by=leader, household=homes[head_name], date=day,
                                            note="上门看望，了解生活情况，无新的困难诉求。")
            monday += datetime.timedelta(days=7)
        for head_name, *_ in DEMO_HOUSEHOLDS[2:]:  # last month: everybody (the hardship households weekly)
            household_services.record_visit(by=leader, household=homes[head_name], date=registered + datetime.timedelta(days=9),
                                    note="入户走访，宣传防诈骗、防溺水知识。")
        household_services.record_visit(by=leader, household=homes["刘志强"], date=today.replace(day=1),
                                note="了解近况，按期报到，情绪稳定。")
        for day in sorted({registered + datetime.timedelta(days=9), today.replace(day=1)}):  # this quarter and last
            household_services.record_visit(by=member, household=homes["刘志强"], date=day,
                                            note="季度走访重点户，情况稳定。")
        self.summary.households = len(homes)

    # --- people ----------------------------------------------------------------------------------

    def password_hash(self) -> str:
        # One hash for the one shared demo password: the production hasher costs ~0.3 s a call.
        if self._password_hash is None:
            self._password_hash = make_password(DEMO_PASSWORD)
        return self._password_hash

    def user(self, username: str, full_name: str):
        user, created = services.ensure_user(username, full_name=full_name, by=self.by)
        if created:
            user.password = self.password_hash()
            user.save(update_fields=["password"])
            self.summary.users += 1
        return user, created

    def load_group_members(self, taiping: Region) -> None:
        """The demo supervision-group user works in the group that checks 楼星村 (第二巡查督查组)."""
        member = get_user_model().objects.get(username="duchazu")
        group = SupervisionGroup.objects.filter(township=taiping, villages__name=LOUXING).first()
        if group is None or group.members.filter(pk=member.pk).exists():
            return
        group.members.add(member)
        audit.record("supervision_group.add_member", actor=self.by, obj=group, after={"member": member.username})
        self.summary.group_members += 1

    def load_users(self) -> None:
        admin, created = self.user(ADMIN_USERNAME, ADMIN_FULL_NAME)
        if created:
            admin.is_staff = admin.is_superuser = True
            admin.save(update_fields=["is_staff", "is_superuser"])
            audit.record("user.grant_superuser", actor=self.by, obj=admin, after={"is_staff": True, "is_superuser": True})

        roles = {role.key: role for role in Role.objects.all()}
        missing = sorted({demo.role for demo in DEMO_USERS} - set(roles))
        if missing:
            raise ValidationError(f"缺少角色：{'、'.join(missing)}，请先运行 migrate。")
        for demo in DEMO_USERS:
            user, _ = self.user(demo.username, DEMO_FULL_NAMES[demo.username])
            role, region = roles[demo.role], self.regions[demo.region]
            department = services.department_for_post(region, demo.department) if demo.department else None
            if not Post.objects.active().filter(user=user, role=role, region=region).exists():
                services.create_post(user=user, role=role, region=region, department=department,
                                     start_date=DEMO_POSTS_START, by=self.by)
                self.summary.posts += 1
            self.summary.logins.append(
                DemoLogin(demo.username, user.first_name, role.name, demo.region, department.name if department else None)
            )

    # --- county inspection round (巡察) ----------------------------------------------------------

    def load_first_round(self, taiping: Region) -> InspectionRound:
        """The earlier round that 太平镇's paper plan cites, with its group at 太平镇 (fed back on the plan's
        feedback date) and its targets (the township committee and six villages), so that the round's page,
        the township's rounds and the term's coverage tell the same story as the plan."""
        User = get_user_model()
        term, number, name, arrival, withdrawal = DEMO_FIRST_ROUND
        group_number, group_name, feedback_on, villages = DEMO_FIRST_ROUND_GROUP
        round = InspectionRound.objects.filter(county=self.summary.county, term=term, number=number).first()
        if round is None:
            round = InspectionRound.objects.create(
                county=self.summary.county, term=term, number=number, name=name, arrival_date=arrival,
                withdrawal_date=withdrawal, created_by=User.objects.get(username="xunchaban"))
            audit.record("inspection_round.create", actor=self.by, obj=round, after=audit.snapshot(
                round, ["county", "term", "number", "name", "arrival_date", "withdrawal_date"]))
            self.summary.inspection_rounds += 1
        group = round.groups.filter(township=taiping).first()
        if group is None:
            group = InspectionGroup.objects.create(
                round=round, number=group_number, name=group_name, township=taiping, fixed_villages=villages,
                mobile_villages=0, feedback_on=feedback_on, feedback_document=f"{group_name}关于巡察太平镇党委的反馈意见")
            audit.record("inspection_group.create", actor=self.by, obj=group, after=audit.snapshot(
                group, ["round", "number", "name", "township", "fixed_villages", "feedback_on", "feedback_document"]))
            self.summary.inspection_groups += 1
        targeted = set(RoundTarget.objects.filter(round=round).values_list("organisation_id", flat=True))
        chosen = list(Region.objects.get_children(taiping).filter(tier__key="village").order_by("path")[:villages])
        for index, organisation in enumerate([taiping, *chosen]):
            if organisation.pk in targeted:
                continue
            village_class = "" if index == 0 else DEMO_CLASS_CYCLE[(index - 1) % len(DEMO_CLASS_CYCLE)]
            target = RoundTarget.objects.create(round=round, group=group, organisation=organisation,
                                                village_class=village_class)
            audit.record("round_target.create", actor=self.by, obj=target,
                         after=audit.snapshot(target, ["round", "group", "organisation", "village_class", "is_mobile"]))
            self.summary.round_targets += 1
        self.load_look_back(round, taiping)
        return round

    def load_look_back(self, round: InspectionRound, taiping: Region) -> None:
        """The office's look-back (回头看) at 太平镇 of the first round: one done a year after the feedback, one
        planned next month (county-inspection-practice: inspect, rectify, then look back)."""
        target = RoundTarget.objects.get(round=round, organisation=taiping)
        if LookBack.objects.filter(target=target).exists():
            return
        office = get_user_model().objects.get(username="xunchaban")
        done = onsite.schedule_look_back(by=office, target=target, scheduled_on=datetime.date(2022, 11, 15))
        onsite.record_look_back_result(done, by=office, done_on=datetime.date(2022, 11, 18),
                                       result="8 个问题中 6 个已销号；村集体资产登记仍未完成，已发提醒函。")
        next_month = (timezone.localdate().replace(day=1) + datetime.timedelta(days=32)).replace(day=15)
        onsite.schedule_look_back(by=office, target=target, scheduled_on=next_month)

    def load_rectification(self, taiping: Region) -> None:
        """太平镇's rectification plan after the earlier round (load_first_round), kept on paper and
        imported (rectification/demo/taiping_rectification.csv: its 已整改 / 已整改到位 / 长期坚持 items are
        closed by the import on their 销号日期 of 2022, so the 销号进度 rises month by month), with its meetings, rules, money recovered and accountability.

        The story it tells: item 7 was given a new deadline, so only item 3 (正在整改中, due 2022-12-31)
        is overdue; the overdue job runs once here, as `make run`'s scheduler would within seconds, and
        the office's 《巡察提醒函》 for it is written; the notice draft warns that item 3's next step
        lies after its deadline without a new deadline, and 审定 refuses it until one is set."""
        group_name, feedback_on = DEMO_FIRST_ROUND_GROUP[1], DEMO_FIRST_ROUND_GROUP[2]
        outcome = import_rectification(
            Path(__file__).resolve().parent.parent / "rectification" / "demo" / "taiping_rectification.csv",
            organisation=taiping, round=DEMO_RECTIFICATION_ROUND, group=group_name,
            inspected=DEMO_FIRST_ROUND[3:], feedback_date=feedback_on, by=self.by,
        )
        self.summary.rectification_items += outcome.result.created
        plan = outcome.plan
        seventh = plan.items.filter(number=7, new_deadline__isnull=True, closed_at__isnull=True).first()
        if seventh is not None:
            committee = get_user_model().objects.get(username="zhendangwei")
            rectification_services.mark_unfinished(
                seventh, by=committee, reason=seventh.unfinished_reason, next_steps=seventh.next_steps,
                new_deadline=timezone.localdate() + datetime.timedelta(days=180))
        flag_overdue()
        if plan.meetings.exists():
            return
        plan.first_responsible, plan.document_number = "镇党委书记", "太委〔2021〕45号"
        plan.document_title = "关于落实县委第三巡察组反馈意见的整改方案"
        plan.next_plan = "持续抓好未完成事项的整改，对已完成事项适时开展“回头看”，防止问题反弹。"
        plan.contact = "太平镇纪委，电话 0375-6012345"
        plan.save()
        PlanMeeting.objects.create(plan=plan, held_on=datetime.date(2021, 12, 13), kind="党委会", topic="传达学习巡察反馈意见，研究部署整改工作")
        PlanMeeting.objects.create(plan=plan, held_on=datetime.date(2022, 1, 20), kind="专题民主生活会", topic="对照巡察反馈问题开展批评与自我批评")
        for name in ("太平镇村级财务管理办法", "太平镇惠民资金发放公示制度"):
            PlanMeasure.objects.create(plan=plan, name=name, adopted_on=datetime.date(2022, 2, 15))
        MoneyRecovered.objects.create(plan=plan, amount="23000.00", source="清退不符合条件的低保资金")
        Accountability.objects.create(plan=plan, person="某村党支部书记", level=Accountability.Level.VILLAGE,
                                      measure=Accountability.Measure.ADMONISHMENT)
        audit.record("rectification_plan.demo_records", actor=self.by, obj=plan,
                     after={"meetings": 2, "measures": 2, "recoveries": 1, "accountabilities": 1})

    def load_inspection_round(self) -> InspectionRound:
        """The round of the county inspection round plan, entered as the office would have set it up."""
        User = get_user_model()
        county = self.summary.county
        term, number, name, arrival, withdrawal = DEMO_ROUND
        office = User.objects.get(username="xunchaban")
        round = InspectionRound.objects.filter(county=county, term=term, number=number).first()
        if round is None:
            round = InspectionRound.objects.create(county=county, term=term, number=number, name=name,
                                                   arrival_date=arrival, withdrawal_date=withdrawal, created_by=office)
            audit.record("inspection_round.create", actor=self.by, obj=round, after=audit.snapshot(
                round, ["county", "term", "number", "name", "arrival_date", "withdrawal_date"]))
            self.summary.inspection_rounds += 1
        role = Role.objects.get(key="inspection_group")
        groups = {group.number: group for group in round.groups.all()}
        targets = set(RoundTarget.objects.filter(round=round).values_list("organisation_id", flat=True))
        for plan in ROUND_GROUPS:
            township = self.regions[_path(DEMO_COUNTY, plan.township)]
            leader = User.objects.filter(username=plan.leader_username).first()
            if leader is None:
                leader, _ = self.user(plan.leader_username, plan.leader_name)
            if not Post.objects.active().filter(user=leader, role=role).exists():
                services.create_post(user=leader, role=role, region=township, start_date=DEMO_POSTS_START, by=self.by)
                self.summary.posts += 1
            group = groups.get(plan.number)
            full = plan.township in FULL_TOWNSHIPS
            if group is None:
                group = InspectionGroup.objects.create(
                    round=round, number=plan.number, name=plan.name, township=township, leader=leader,
                    inspect_all_villages=full, fixed_villages=0 if full else FIXED_VILLAGES,
                    mobile_villages=0 if full else MOBILE_VILLAGES, mobile_days=MOBILE_DAYS,
                )
                audit.record("inspection_group.create", actor=self.by, obj=group, after={
                    **audit.snapshot(group, ["round", "number", "name", "township", "leader", "inspect_all_villages",
                                             "fixed_villages", "mobile_villages", "mobile_days"]),
                    "deputies_named": list(plan.deputies), "members_count": plan.members,
                })
                self.summary.inspection_groups += 1
            villages = list(Region.objects.get_children(township).filter(tier__key="village").order_by("path"))
            chosen = villages if full else villages[:FIXED_VILLAGES]
            wanted = [(township, "")] + [
                (village, "key" if index == 0 else DEMO_CLASS_CYCLE[(index - 1) % len(DEMO_CLASS_CYCLE)])
                for index, village in enumerate(chosen)
            ]
            for organisation, village_class in wanted:
                if organisation.pk in targets:
                    continue
                target = RoundTarget.objects.create(round=round, group=group, organisation=organisation,
                                                    village_class=village_class)
                audit.record("round_target.create", actor=self.by, obj=target,
                             after=audit.snapshot(target, ["round", "group", "organisation", "village_class", "is_mobile"]))
                targets.add(organisation.pk)
                self.summary.round_targets += 1
        self.load_focus_taxonomy(round)
        self.load_onsite_work(round)
        return round

    def load_onsite_work(self, round: InspectionRound) -> None:
        """The first group's working papers, talks and a clue, recorded by its leader while on site, so that
        the group's home page and lists open on its work (once: a group with papers is left alone)."""
        group = round.groups.select_related("leader").get(number=ROUND_GROUPS[0].number)
        if group.findings.exists():
            return
        targets = {target.organisation.name: target for target in group.targets.select_related("organisation")}
        township_target = targets[group.township.name]
        focus = {(f.applies_to, f.title): f for f in round.focus_categories.exclude(parent=None)}
        # Recorded while the group was on site: the clock is set back to those days (as for --history).
        # (In UTC, as timezone.now() gives it: the audit chain hashes the timestamp as written.)
        on_site = timezone.make_aware(datetime.datetime.combine(round.arrival_date, datetime.time(16, 0))).astimezone(
            datetime.UTC)
        for number, (village, applies_to, heading, title, description, people, meeting) in enumerate(
                DEMO_ONSITE_FINDINGS, start=1):
            with mock.patch("django.utils.timezone.now", return_value=on_site + datetime.timedelta(days=4 * number)):
                onsite.record_finding(
                    by=group.leader, group=group, target=targets[village] if village else township_target,
                    focus=focus[(applies_to, heading)], title=title, description=description, people_involved=people,
                    for_secretary_meeting=meeting, suggestion="责成限期整改，建立长效机制。",
                )
        for village, held_on, interviewee, position, summary in DEMO_ONSITE_TALKS:
            with mock.patch("django.utils.timezone.now", return_value=on_site + (held_on - round.arrival_date)):
                onsite.record_talk(by=group.leader, group=group,
                                   target=targets[village] if village else township_target, held_on=held_on,
                                   interviewee=interviewee, position=position, summary=summary)
        with mock.patch("django.utils.timezone.now", return_value=on_site + datetime.timedelta(days=20)):
            onsite.record_clue(by=group.leader, group=group, target=township_target, people_involved="某村原报账员",
                               description="群众反映其在 2020 年危房改造补助发放中虚报冒领，涉及 3 户。",
                               source="个别谈话", disposal="移交县纪委监委")

    def load_focus_taxonomy(self, round: InspectionRound) -> None:
        self.summary.focus_categories += ensure_focus(round, STANDARD_FOCUS_TAXONOMY, by=self.by)


@transaction.atomic
def load_demo(*, by=None, history: bool = False) -> DemoSummary:
    """Load the demo county; rows that already exist are found and left as they are. `history`: also a
    year of finished events for the dashboards (a few seconds more; `make run` asks for it)."""
    loader = _Loader(by)
    taiping = loader.load_regions()
    loader.load_boundaries()
    loader.load_category_attributes()
    departments = loader.load_departments(taiping)
    loader.load_county_centre()
    loader.load_patrol_categories(taiping, departments)
    loader.load_supervision_groups(taiping)
    loader.load_users()
    loader.load_group_members(taiping)
    loader.load_routing(taiping, departments)
    loader.load_events()
    if history:
        loader.load_event_history()
    loader.load_patrols()
    loader.load_households()
    loader.load_catalog(taiping)
    loader.load_village_patrols(taiping)
    loader.load_supervision_checks(taiping)
    loader.load_patrol_reports(taiping)
    loader.load_patrol_rules(taiping)
    loader.load_inspection_round()
    loader.load_first_round(taiping)
    loader.load_rectification(taiping)
    return loader.summary
