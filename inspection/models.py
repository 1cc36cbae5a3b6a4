from django.db import models

from grid.models import Department, Region


class PatrolCategory(models.Model):
    """A category of the township big-patrol catalog and the department that leads it.

    Source: township-patrol-plan.txt, 四、职责分工 (each office's 巡查监管 duties).
    """

    township = models.ForeignKey(Region, verbose_name="乡镇", on_delete=models.PROTECT, related_name="patrol_categories")
    name = models.CharField("类别", max_length=100)
    lead_department = models.ForeignKey(
        Department, verbose_name="牵头部门", on_delete=models.PROTECT, related_name="led_patrol_categories"
    )

    region_path_lookup = "township__path"

    class Meta:
        verbose_name = "巡查目录类别"
        verbose_name_plural = "巡查目录类别"
        ordering = ["township_id", "lead_department_id", "id"]
        constraints = [models.UniqueConstraint(fields=["township", "name"], name="patrol_category_unique_in_township")]

    def __str__(self):
        return self.name

    def get_permission_region(self):
        return self.township


class SupervisionGroup(models.Model):
    """A township supervision group (巡查督查组) and the villages it checks each month."""

    township = models.ForeignKey(Region, verbose_name="乡镇", on_delete=models.PROTECT, related_name="supervision_groups")
    number = models.PositiveSmallIntegerField("组号")
    name = models.CharField("名称", max_length=50)
    scope_description = models.TextField("巡查督查范围", blank=True)
    villages = models.ManyToManyField(Region, verbose_name="负责村（居）", related_name="supervising_groups", blank=True)

    region_path_lookup = "township__path"

    class Meta:
        verbose_name = "巡查督查组"
        verbose_name_plural = "巡查督查组"
        ordering = ["township_id", "number"]
        constraints = [models.UniqueConstraint(fields=["township", "number"], name="supervision_group_unique_number")]

    def __str__(self):
        return self.name

    def get_permission_region(self):
        return self.township
