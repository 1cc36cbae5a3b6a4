"""What a round's problems are classified by (its focus taxonomy, 监督重点): a new round starts with the
county's previous round's taxonomy, or the round plan's standard one."""

from __future__ import annotations

from governance import audit

from ..models import FocusCategory, InspectionRound

# The county inspection round plan 三、监督重点 (一): the three focuses (三个聚焦) with their sub-headings
# (一是…二是…), for township committees and for villages: a county's first round starts with these.
STANDARD_FOCUS_TAXONOMY: list[tuple[str, str, list[str]]] = [
    ("township", "聚焦党的理论路线方针政策和党中央决策部署在基层贯彻落实情况", [
        "了解学习贯彻习近平新时代中国特色社会主义思想和党的十九大精神，做到“两个维护”情况",
        "了解履职尽责、贯彻落实中央和省委、市委、县委重大决策部署情况",
        "了解坚持和加强党的全面领导情况",
    ]),
    ("township", "聚焦群众身边腐败问题和不正之风", [
        "了解整治形式主义、官僚主义情况",
        "了解担当尽责、为民服务情况",
        "了解执行中央八项规定和实施细则精神情况",
        "了解依法廉洁用权情况",
        "了解资金管理、资产处置、资源配置、资本运作和工程项目方面廉洁情况",
    ]),
    ("township", "聚焦基层党组织领导班子和干部队伍建设", [
        "了解基层党组织建设情况",
        "了解执行新时代党的组织路线和选人用人情况",
        "了解履行管党治党政治责任情况",
    ]),
    ("village", "聚焦基层贯彻落实党的路线方针政策和党中央决策部署情况", [
        "了解持续巩固拓展脱贫攻坚成果情况",
        "了解污染防治攻坚战情况",
        "了解防范化解重大风险情况",
        "了解乡村振兴战略落实情况",
        "了解扫黑除恶和中央有关惠农利民政策的落实情况",
        "了解中央关于意识形态有关部署落实情况",
        "了解中央关于统筹疫情防控和经济社会发展政策落实情况",
    ]),
    ("village", "聚焦群众身边腐败问题和不正之风", [
        "了解在落实中央惠民政策、服务群众生产生活过程中以权谋私问题",
        "了解在农村“三资”管理过程中的违规问题",
        "了解损害党群干群关系的作风问题",
        "了解民生领域和群众关心的突出问题",
    ]),
    ("village", "聚焦基层党组织软弱涣散、组织力欠缺问题", [
        "了解村级党组织落实党建主体责任、发挥政治功能情况",
        "了解基层组织生活开展情况",
        "了解基层党组织换届选举情况",
    ]),
]

_FOCUS_FIELDS = ["round", "parent", "title", "applies_to", "order"]


def give_round_its_focus(round: InspectionRound, *, by) -> int:
    """The round's focus categories, copied from the county's latest other round that has some, else the
    standard taxonomy (the office edits a round's own in the admin). Returns how many were made."""
    previous = (InspectionRound.objects.filter(county_id=round.county_id, focus_categories__isnull=False)
                .exclude(pk=round.pk).order_by("-arrival_date", "-id").first())
    if previous is not None:
        rows = list(previous.focus_categories.order_by("order", "id"))
        tree = [(top.applies_to, top.title, [child.title for child in rows if child.parent_id == top.pk])
                for top in rows if top.parent_id is None]
    else:
        tree = STANDARD_FOCUS_TAXONOMY
    return ensure_focus(round, tree, by=by)


def ensure_focus(round: InspectionRound, tree, *, by) -> int:
    """Add to the round the categories of `tree` ((applies to, 聚焦, [sub-headings]), in order) that it
    lacks, each audited. Returns how many were made."""
    existing = {(focus.parent_id, focus.applies_to, focus.title): focus for focus in round.focus_categories.all()}
    made = 0

    def ensure(parent, applies_to, title, order) -> FocusCategory:
        nonlocal made
        focus = existing.get((getattr(parent, "pk", None), applies_to, title))
        if focus is None:
            focus = FocusCategory.objects.create(round=round, parent=parent, title=title, applies_to=applies_to,
                                                 order=order)
            audit.record("focus_category.create", actor=by, obj=focus, after=audit.snapshot(focus, _FOCUS_FIELDS))
            made += 1
        return focus

    for order, (applies_to, title, headings) in enumerate(tree, start=1):
        top = ensure(None, applies_to, title, order)
        for sub_order, heading in enumerate(headings, start=1):
            ensure(top, applies_to, heading, sub_order)
    return made
