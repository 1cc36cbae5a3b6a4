from inspection.management.commands._patrol_import import PatrolImportCommand
from inspection.patrol.imports import import_patrol_findings


class Command(PatrolImportCommand):
    help = (
        "从 .xlsx 或 .csv 文件导入巡查发现问题（督查组、部门、上级、12345、信访、中央发现）。"
        "列：编号、村(居)、目录编号、发现日期、来源、是否属实（是/否/空为待核实）、对应上报编号（可空）。"
        "有任何一行出错则不导入任何数据。例：manage.py import_patrol_findings 发现问题.xlsx --township 太平镇"
    )
    importer = staticmethod(import_patrol_findings)
    what = "巡查发现问题"
