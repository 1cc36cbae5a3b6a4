"""The roles (stable keys: grid member to discipline) with their default permissions, loaded by data migrations.
Design notes: docs/architecture/grid.md."""

from django.contrib.auth.management import create_permissions

VIEW_BASICS = ["grid.view_region", "grid.view_department"]
VIEW_PEOPLE = VIEW_BASICS + ["grid.view_post"]
MANAGE_GRID = [
    "grid.view_region", "grid.add_region", "grid.change_region",
    "grid.view_department", "grid.add_department", "grid.change_department",
    "grid.view_post", "grid.add_post", "grid.change_post",
]
VIEW_PATROL_SETUP = ["inspection.view_patrolcategory", "inspection.view_supervisiongroup"]
MANAGE_PATROL_SETUP = VIEW_PATROL_SETUP + [
    "inspection.add_patrolcategory", "inspection.change_patrolcategory",
    "inspection.add_supervisiongroup", "inspection.change_supervisiongroup",
]
VIEW_AUDIT = ["governance.view_auditentry"]

# key: (name, description, default permissions)
ROLES: dict[str, tuple[str, str, list[str]]] = {
    "grid_member": ("网格员", "巡查网格、上报事件、就地处置、逐级上报", VIEW_BASICS),
    "grid_leader": ("网格长", "研判分流网格事件、派单、上报乡镇、审核工作日志", VIEW_PEOPLE),
    "grid_instructor": ("网格指导员", "指导网格工作、审核工作日志", VIEW_PEOPLE),
    "village_cadre": ("村（居）巡查员", "村级大巡查台账、向牵头部门上报目录问题", VIEW_PEOPLE + ["inspection.view_patrolcategory"]),
    "township_office": ("镇综合办", "核实登记上报、统筹大巡查、处置上报事件", MANAGE_GRID + MANAGE_PATROL_SETUP + VIEW_AUDIT),
    "department": ("职能部门", "牵头部门：核实登记、加减分、处置派单事件", VIEW_PEOPLE + VIEW_PATROL_SETUP),
    "supervision_group": ("巡查督查组", "每月督查所负责村（居），记录漏报瞒报问题", VIEW_BASICS + VIEW_PATROL_SETUP),
    "township_committee": ("镇党委", "跟踪整改事项、撰写整改进展情况通报", VIEW_PEOPLE + VIEW_PATROL_SETUP + VIEW_AUDIT),
    "county_office": ("县委巡察办", "组织巡察轮次、跟踪整改、发布整改通报", MANAGE_GRID + VIEW_PATROL_SETUP + VIEW_AUDIT),
    "inspection_group": ("巡察组", "进驻巡察、形成问题底稿与“三报告四清单”", VIEW_PEOPLE),
    "leading_group": ("巡察工作领导小组", "审批机动巡察、听取巡察汇报", VIEW_PEOPLE + VIEW_AUDIT),
    "discipline": ("纪检监察", "接收问题线索、查处弄虚作假、记录问责", VIEW_PEOPLE + VIEW_AUDIT),
    "grid_centre": ("县网格化服务中心", "接收乡镇上报（镇呼县应）、派单给县直部门、电话回访核实", VIEW_PEOPLE),
    "community_secretary": ("社区党委书记", "一级网格长：审核确认工作日志（按区域设置）、督促网格走访", VIEW_PEOPLE),
}


EVENT_BASICS = ["grid.view_event", "grid.add_event", "grid.view_patrollog", "grid.add_patrollog",
                "grid.view_workdiary", "grid.add_workdiary"]
EVENTS: dict[str, list[str]] = {
    "grid_member": EVENT_BASICS,
    "grid_leader": EVENT_BASICS + ["grid.triage_event", "grid.verify_event", "grid.export_event", "grid.review_workdiary"],
    "grid_instructor": ["grid.view_event", "grid.handle_village_event", "grid.export_event", "grid.view_patrollog",
                        "grid.view_workdiary", "grid.review_workdiary"],
    "village_cadre": ["grid.view_event", "grid.add_event", "grid.handle_village_event", "grid.export_event",
                      "grid.view_patrollog"],
    "township_office": ["grid.view_event", "grid.dispatch_event", "grid.export_event", "grid.view_patrollog",
                        "grid.view_workdiary", "grid.view_categoryrouting", "grid.add_categoryrouting",
                        "grid.change_categoryrouting"],
    "department": ["grid.view_event", "grid.handle_dispatched_event"],
    "supervision_group": ["grid.view_event"],
    "township_committee": ["grid.view_event", "grid.export_event", "grid.view_patrollog", "grid.view_workdiary"],
    "county_office": ["grid.view_event", "grid.export_event", "grid.view_patrollog", "grid.view_workdiary"],
    "inspection_group": [],
    "leading_group": ["grid.view_event"],
    "discipline": ["grid.view_event"],
}

# The county grid service centre (镇呼县应): receives townships' escalations, dispatches to county
# departments, verifies by telephone callback where the policy says so.
COUNTY_CENTRE: dict[str, list[str]] = {
    "grid_centre": ["grid.view_event", "grid.centre_dispatch_event", "grid.export_event"],
}

# The county office keeps the county's flow policy (versions, effective dates) in the admin.
FLOW_POLICIES: dict[str, list[str]] = {
    "county_office": ["grid.view_flowpolicy", "grid.add_flowpolicy", "grid.change_flowpolicy",
                      "grid.view_flowpolicydeadline", "grid.add_flowpolicydeadline",
                      "grid.change_flowpolicydeadline", "grid.delete_flowpolicydeadline"],
}


# Township big patrol (大巡查, the township big patrol plan 四、职责分工).
BIG_PATROL_VIEW = ["inspection.view_catalogitem", "inspection.view_villagepatrol", "inspection.view_patrolreport",
                   "inspection.view_patrolfinding", "inspection.view_supervisioncheck",
                   "inspection.view_departmentconfirmation", "inspection.view_circular"]
BIG_PATROL: dict[str, list[str]] = {
    "village_cadre": ["inspection.view_catalogitem", "inspection.view_villagepatrol", "inspection.add_villagepatrol",
                      "inspection.view_patrolreport", "inspection.add_patrolreport", "inspection.view_patrolfinding",
                      "inspection.view_supervisioncheck", "inspection.view_circular"],
    "department": BIG_PATROL_VIEW + ["inspection.verify_patrolreport", "inspection.add_patrolfinding",
                                     "inspection.register_patrolfinding", "inspection.confirm_month"],
    "township_office": BIG_PATROL_VIEW + ["inspection.add_catalogitem", "inspection.change_catalogitem",
                                          "inspection.add_patrolfinding", "inspection.register_patrolfinding",
                                          "inspection.publish_circular"],
    "supervision_group": ["inspection.view_catalogitem", "inspection.view_villagepatrol", "inspection.view_patrolreport",
                          "inspection.view_patrolfinding", "inspection.add_patrolfinding",
                          "inspection.view_supervisioncheck", "inspection.add_supervisioncheck"],
    "township_committee": BIG_PATROL_VIEW,
    "county_office": BIG_PATROL_VIEW,
    "leading_group": ["inspection.view_circular"],
    "discipline": BIG_PATROL_VIEW + ["inspection.flag_patrol_fraud"],
}


# County inspection rounds (巡察, the county inspection round plan). Problem clues: only the
# inspection office and discipline by role; a group's own leader by group membership (services).
ROUND_VIEW = ["inspection.view_inspectionround", "inspection.view_inspectiongroup", "inspection.view_roundtarget",
              "inspection.view_focuscategory", "inspection.view_mobileproposal", "inspection.view_inspectionfinding",
              "inspection.view_talkrecord", "inspection.view_inspectionletter", "inspection.view_lookback"]
INSPECTION: dict[str, list[str]] = {
    "county_office": ROUND_VIEW + [
        "inspection.manage_inspectionround", "inspection.add_inspectionround", "inspection.change_inspectionround",
        "inspection.add_inspectiongroup", "inspection.change_inspectiongroup", "inspection.add_roundtarget",
        "inspection.change_roundtarget", "inspection.add_focuscategory", "inspection.change_focuscategory",
        "inspection.add_inspectionletter", "inspection.change_inspectionletter", "inspection.add_lookback",
        "inspection.change_lookback", "inspection.view_problemclue",
        "rectification.view_rectificationplan", "rectification.view_rectificationitem",
        "rectification.add_rectificationplan",
    ],
    "inspection_group": ROUND_VIEW + [
        "inspection.add_mobileproposal", "inspection.add_inspectionfinding", "inspection.change_inspectionfinding",
        "inspection.add_talkrecord", "inspection.add_problemclue",
    ],
    "leading_group": ROUND_VIEW + ["inspection.decide_mobileproposal", "rectification.view_rectificationplan",
                                   "rectification.view_rectificationitem"],
    "discipline": ["inspection.view_inspectionround", "inspection.view_inspectionfinding", "inspection.view_problemclue",
                   "rectification.view_rectificationplan", "rectification.view_rectificationitem"],
    "township_committee": ["inspection.view_inspectionround", "inspection.view_inspectionfinding",
                           "inspection.view_inspectionletter", "inspection.view_lookback",
                           "rectification.view_rectificationplan", "rectification.view_rectificationitem"],
}


# Rectification (整改) and its progress notice (整改进展情况通报).
RECTIFICATION_VIEW = ["rectification.view_rectificationplan", "rectification.view_rectificationitem",
                      "rectification.view_progressentry", "rectification.view_progressnotice",
                      "rectification.view_accountability"]
RECTIFICATION: dict[str, list[str]] = {
    "township_committee": RECTIFICATION_VIEW + [
        "rectification.change_rectificationplan", "rectification.add_rectificationitem",
        "rectification.change_rectificationitem", "rectification.add_progressentry",
        "rectification.add_accountability", "rectification.add_progressnotice", "rectification.approve_notice",
    ],
    "county_office": RECTIFICATION_VIEW + ["rectification.verify_rectificationitem",
                                           "rectification.add_rectificationplan"],
    "leading_group": RECTIFICATION_VIEW,
    "discipline": RECTIFICATION_VIEW + ["rectification.add_accountability"],
    "inspection_group": ["rectification.view_rectificationplan", "rectification.view_rectificationitem"],
}


# The county's template of the progress notice (headings, sentences, numbering), kept by the county office.
NOTICE_TEMPLATES: dict[str, list[str]] = {
    "county_office": ["rectification.view_noticetemplate", "rectification.add_noticetemplate"],
}

# The township big patrol's register of monthly work meetings and 简讯, kept by the township office.
BIG_PATROL_WORK_RECORDS: dict[str, list[str]] = {
    "township_office": ["inspection.add_patrolworkrecord"],
}


# Where a flow policy asks for it, the township office reviews village reports before the lead department.
PATROL_REVIEW: dict[str, list[str]] = {
    "township_office": ["inspection.review_patrolreport"],
}


# The household register (户情台账) and door-to-door visits (入户走访): grid leaders keep the register,
# grid members and leaders record visits, those above read them.
HOUSEHOLD_VIEW = ["grid.view_household", "grid.view_householdvisit"]
HOUSEHOLDS: dict[str, list[str]] = {
    "grid_member": HOUSEHOLD_VIEW + ["grid.add_householdvisit"],
    "grid_leader": HOUSEHOLD_VIEW + ["grid.add_householdvisit", "grid.add_household", "grid.change_household"],
    "grid_instructor": HOUSEHOLD_VIEW,
    "village_cadre": HOUSEHOLD_VIEW,
    "community_secretary": HOUSEHOLD_VIEW + ["grid.view_event", "grid.view_patrollog", "grid.view_workdiary",
                                             "grid.review_workdiary"],
    "township_office": HOUSEHOLD_VIEW,
    "township_committee": HOUSEHOLD_VIEW,
    "county_office": HOUSEHOLD_VIEW,
}


# A department sees the events dispatched to it (its 承办 events), not every event of its region: its
# posts hold view_dispatched_event instead of the region-wide view_event granted at first.
DEPARTMENT_EVENTS: dict[str, list[str]] = {"department": ["grid.view_dispatched_event"]}
WITHDRAWN: dict[str, list[str]] = {"department": ["grid.view_event"]}


# The township big patrol is a township's own (the township big patrol plan, 二 and 四、职责分工): its lead
# departments (牵头部门) and 镇部门 are township offices (四、(六)–(十四)), its office (镇综合行政执法办) and its
# supervision groups (巡查督查组) are the township's. A county department (县直部门) holds the department role
# for the events the county centre dispatches to it (镇呼县应), not for the big patrol; the 区 findings it
# makes are recorded by the township office. So these roles' big-patrol permissions count only through a
# post at a township or below it: a county-level post of them records, registers and sees no village's
# patrol ledger, report or finding. (The county office and the discipline roles keep their own grants.)
BIG_PATROL_PERMISSIONS = frozenset(
    MANAGE_PATROL_SETUP + BIG_PATROL_VIEW
    + [perm for perms in (*BIG_PATROL.values(), *BIG_PATROL_WORK_RECORDS.values(), *PATROL_REVIEW.values())
       for perm in perms]
)
TOWNSHIP_BIG_PATROL_ROLES = frozenset({"department", "township_office", "supervision_group"})


def township_posts_only(role_key: str, perm: str) -> bool:
    """Whether a post of `role_key` grants `perm` ("app_label.codename") only where the post is at a
    township or below it (grid.models.PostQuerySet.granting and grid.access.region_grants apply it)."""
    return role_key in TOWNSHIP_BIG_PATROL_ROLES and perm in BIG_PATROL_PERMISSIONS


def default_permissions(role_key: str) -> set[str]:
    return ((set(ROLES[role_key][2]) | set(EVENTS.get(role_key, [])) | set(BIG_PATROL.get(role_key, []))
            | set(INSPECTION.get(role_key, [])) | set(RECTIFICATION.get(role_key, []))
            | set(NOTICE_TEMPLATES.get(role_key, [])) | set(BIG_PATROL_WORK_RECORDS.get(role_key, []))
            | set(FLOW_POLICIES.get(role_key, [])) | set(COUNTY_CENTRE.get(role_key, []))
            | set(PATROL_REVIEW.get(role_key, [])) | set(HOUSEHOLDS.get(role_key, []))
            | set(DEPARTMENT_EVENTS.get(role_key, []))) - set(WITHDRAWN.get(role_key, [])))


def create_all_permissions(apps) -> None:
    """Create the permission rows of every model known at this migration (Django does it only after all)."""
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def _roles_and_permissions(apps, mapping: dict[str, list[str]]):
    """(role, its permissions of the mapping) for each role of a data migration's frozen mapping that exists."""
    Role = apps.get_model("grid", "Role")
    Permission = apps.get_model("auth", "Permission")
    for key, perms in mapping.items():
        role = Role.objects.filter(key=key).first()
        if role is not None:
            yield role, [Permission.objects.get(content_type__app_label=perm.split(".")[0], codename=perm.split(".")[1])
                         for perm in perms]


def grant_role_permissions(apps, mapping: dict[str, list[str]]) -> None:
    """Add the permissions of one capability to the roles (a data migration's frozen mapping)."""
    create_all_permissions(apps)
    for role, permissions in _roles_and_permissions(apps, mapping):
        role.permissions.add(*permissions)


def withdraw_role_permissions(apps, mapping: dict[str, list[str]]) -> None:
    """Take permissions away from the roles (a data migration's frozen mapping)."""
    for role, permissions in _roles_and_permissions(apps, mapping):
        role.permissions.remove(*permissions)


def sync_role_defaults(apps, schema_editor=None) -> None:
    """Create missing roles with their foundation permissions; leave existing roles as they are."""
    create_all_permissions(apps)

    Role = apps.get_model("grid", "Role")
    Permission = apps.get_model("auth", "Permission")
    for key, (name, description, perms) in ROLES.items():
        role, created = Role.objects.get_or_create(key=key, defaults={"name": name, "description": description})
        if not created:
            continue
        for perm in perms:
            app_label, codename = perm.split(".")
            role.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
