"""A working paper's focus category fits its target's level: 乡镇党委 categories for the township committee,
村级党组织 categories for a village (the round plan's 三、监督重点 gives each its own 三个聚焦)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from inspection.models import FocusCategory, InspectionFinding
from inspection.rounds import group_reports as round_reports
from inspection.rounds import onsite
from tests.inspection.test_onsite import build_round, finding

pytestmark = pytest.mark.usefixtures("media_in_tmp")
Applies = FocusCategory.AppliesTo


@pytest.fixture
def r(county, personas):
    r = build_round(county, personas)
    title = "聚焦群众身边腐败问题和不正之风"
    r.township_top = FocusCategory.objects.create(round=r.round, title=title, applies_to=Applies.TOWNSHIP, order=1)
    r.township_sub = FocusCategory.objects.create(round=r.round, parent=r.township_top, title="了解依法廉洁用权情况",
                                                  applies_to=Applies.TOWNSHIP)
    r.village_top = FocusCategory.objects.create(round=r.round, title="聚焦基层贯彻落实党的路线方针政策和党中央决策部署情况",
                                                 applies_to=Applies.VILLAGE, order=2)
    r.village_sub = FocusCategory.objects.create(round=r.round, parent=r.village_top, title="了解持续巩固拓展脱贫攻坚成果情况",
                                                 applies_to=Applies.VILLAGE)
    # A sub-heading left at 均适用 under a village 聚焦 is still a village category.
    r.village_both = FocusCategory.objects.create(round=r.round, parent=r.village_top, title="了解乡村振兴战略落实情况")
    return r


def test_a_village_category_is_refused_on_the_township_committee(r):
    for focus in (r.village_sub, r.village_top, r.village_both):
        with pytest.raises(onsite.OnsiteError) as refused:
            finding(r, target=r.zhaocun, focus=focus)
        assert any("村级党组织的监督重点" in message and "赵村镇是乡镇党委" in message
                   for message in refused.value.messages), refused.value.messages
    assert not InspectionFinding.objects.exists()


def test_a_township_category_is_refused_on_a_village(r):
    with pytest.raises(onsite.OnsiteError) as refused:
        finding(r, target=r.henan, focus=r.township_sub)
    assert "河南村是村级党组织" in " ".join(refused.value.messages)


def test_matching_and_shared_categories_are_accepted(r):
    finding(r, target=r.zhaocun, focus=r.township_sub)
    finding(r, target=r.henan, focus=r.village_sub)
    finding(r, target=r.henan, focus=r.village_both)
    finding(r, target=r.zhaocun, focus=r.sub_focus)  # 均适用
    finding(r, target=r.henan, focus=r.sub_focus)
    assert InspectionFinding.objects.count() == 5


def test_the_situation_report_has_no_village_heading_for_a_township_problem(r):
    finding(r, target=r.zhaocun, focus=r.township_sub, title="镇党委问题")
    with pytest.raises(onsite.OnsiteError):
        finding(r, target=r.zhaocun, focus=r.village_sub, title="错归村级类别的镇党委问题")
    data = round_reports.build_situation_report(r.group1, user=r.users["leader1"])
    assert [section["title"] for section in data["sections"]] == [r.township_top.title]


def test_the_finding_page_offers_each_category_with_its_level_and_refuses_a_mismatch_with_422(r, client):
    client.force_login(r.users["inspection_group"])
    page = client.get(reverse("inspection:onsite_finding_new")).content.decode()
    assert 'data-level-of="id_target"' in page
    assert f'value="{r.village_sub.pk}" data-level="village"' in page
    assert f'value="{r.village_both.pk}" data-level="village"' in page
    assert f'value="{r.zhaocun.pk}" data-level="township"' in page
    response = client.post(reverse("inspection:onsite_finding_new"), {
        "target": r.zhaocun.pk, "focus": r.village_sub.pk, "title": "保留的标题", "description": "具体表现"})
    assert response.status_code == 422
    body = response.content.decode()
    assert "保留的标题" in body and "请选择适用于乡镇党委的问题类别" in body
    assert not InspectionFinding.objects.exists()


def test_a_member_with_township_targets_only_is_offered_no_village_category(r, county):
    from inspection.rounds.onsite_forms import FindingForm

    r.henan.delete()
    choices = set(FindingForm(user=r.users["inspection_group"]).fields["focus"].queryset)
    assert {r.township_top, r.township_sub, r.focus, r.sub_focus} <= choices
    assert not {r.village_top, r.village_sub, r.village_both} & choices
