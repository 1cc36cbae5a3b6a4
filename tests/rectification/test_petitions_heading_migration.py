"""The data migration that gives the new 三（二） heading to counties whose current template version still
has the old default: a next version, identical but for the heading; saved versions and notices keep theirs."""

import importlib

import pytest
from django.apps import apps

from grid import services
from rectification import notices
from rectification.models import NoticeTemplate

from .test_notice_shape import flat, html_text, shaped_plan

migration = importlib.import_module("rectification.migrations.0009_current_templates_take_the_new_petitions_heading")
OLD, NEW = "转办信访件办理情况", "转办信访件办理及追回资金"
CUSTOM = "转办信访件办理和资金追缴情况"


pytestmark = pytest.mark.usefixtures("media_in_tmp")

def rows():
    return {row["id"]: row for row in NoticeTemplate.objects.values()}


def printed(notice) -> str:
    return flat(html_text(notices.render_html(notices.notice_data(notice))))


@pytest.fixture
def plan(county, personas):
    return shaped_plan(county.taiping, personas["township_committee"])


def test_a_county_whose_current_version_has_the_old_heading_gets_a_next_version_with_the_new_one(
        county, personas, plan):
    office, committee = personas["county_office"], personas["township_committee"]
    NoticeTemplate.objects.create(county=county.county, version=1, heading_petitions=OLD, created_by=office)
    current = NoticeTemplate.objects.create(county=county.county, version=2, heading_petitions=OLD,
                                            heading_next="下一步工作打算", problem_numbering="circled",
                                            measure_names={"gov_case": "政务立案调查"}, created_by=office)
    drafted = notices.create_draft(plan, by=committee)
    assert drafted.template == current and "（二）转办信访件办理情况" in printed(drafted)
    before = rows()

    migration.rename_petitions_heading(apps, None)

    after = rows()
    assert {pk: after[pk] for pk in before} == before  # the saved versions are as they were
    [new] = [after[pk] for pk in set(after) - set(before)]
    assert new["county_id"] == county.county.pk and new["version"] == 3 and new["created_by_id"] is None
    assert new["heading_petitions"] == NEW
    kept = set(notices.TEMPLATE_FIELDS) - {"heading_petitions"}
    assert {f: new[f] for f in kept} == {f: before[current.pk][f] for f in kept}

    # The notice drafted before keeps its version and heading; the next one is drafted with version 3.
    drafted.refresh_from_db()
    assert drafted.template == current and "（二）转办信访件办理情况" in printed(drafted)
    assert notices.current_template(county.county).version == 3
    notices.approve(drafted, by=committee)
    notices.publish(drafted, by=committee)
    second = notices.create_draft(plan, by=committee)
    assert second.template.version == 3
    text = printed(second)
    assert "（二）转办信访件办理及追回资金" in text and "转办信访件办理情况" not in text
    assert "五、下一步工作打算" in text and "①" in text  # the county's other choices stay

    migration.rename_petitions_heading(apps, None)  # a second run finds nothing to do
    assert NoticeTemplate.objects.count() == len(after)


def test_a_county_that_wrote_its_own_heading_and_a_county_without_a_template_are_left_alone(county, personas):
    office = personas["county_office"]
    other = services.create_region(parent=None, name="另一县", tier=county.tier("county"), code="D")
    third = services.create_region(parent=None, name="第三县", tier=county.tier("county"), code="E")
    NoticeTemplate.objects.create(county=county.county, version=1, heading_petitions=CUSTOM, created_by=office)
    # The old heading only in a version before the current one: the current one decides.
    NoticeTemplate.objects.create(county=other, version=1, heading_petitions=OLD, created_by=office)
    NoticeTemplate.objects.create(county=other, version=2, heading_petitions=CUSTOM, created_by=office)
    before = rows()

    migration.rename_petitions_heading(apps, None)

    assert rows() == before
    assert notices.current_template(county.county).heading_petitions == CUSTOM
    assert notices.current_template(other).heading_petitions == CUSTOM
    assert notices.current_template(third).pk is None and notices.current_template(third).heading_petitions == NEW
