"""The 巡查目录 page shows a village post its township's catalog: the items its report form lists."""

from decimal import Decimal

from django.urls import reverse

from grid import services
from inspection.models import CatalogItem, PatrolCategory
from inspection.patrol.report_forms import PatrolReportForm


def make_item(township, department, code, points):
    category = PatrolCategory.objects.create(township=township, name=f"{code}类", lead_department=department)
    return CatalogItem.objects.create(township=township, code=code, name=f"事项{code}", category=category,
                                      lead_department=department, points=Decimal(points))


def test_village_cadre_sees_the_items_his_report_form_lists(client, county, personas):
    make_item(county.taiping, county.agriculture, "TP-01", "3.00")
    make_item(county.taiping, county.agriculture, "TP-02", "2.50")
    make_item(county.zhaocun, services.create_department(name="赵村农业办", region=county.zhaocun), "ZC-01", "1")
    cadre = personas["village_cadre"]
    client.force_login(cadre)
    page = client.get(reverse("patrol:catalog")).content.decode()
    form_items = [label for _pk, label in PatrolReportForm(user=cadre).fields["item"].choices if _pk]
    assert len(form_items) == 2
    assert "TP-01" in page and "TP-02" in page and "ZC-01" not in page  # another township's catalog: not his
    assert '<td data-label="分值">3</td>' in page and '<td data-label="分值">2.5</td>' in page  # no needless decimals
    assert "manage.py" not in page  # no command hints for a village cadre
