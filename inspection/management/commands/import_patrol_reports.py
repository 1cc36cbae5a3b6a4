from inspection.management.commands._patrol_import import PatrolImportCommand
from inspection.patrol.imports import import_patrol_reports


class Command(PatrolImportCommand):
    help = (
        "从 .xlsx 或 .csv 文件导入村（居）历史巡查上报。列：编号、村(居)、目录编号、发生时间、地点、问题描述、"
        "上报日期、核实结果（属实/不属实/重复/待核实）、核实日期（待核实时留空）。属实的上报按目录分值加分。"
        "有任何一行出错则不导入任何数据。例：manage.py import_patrol_reports 上报.csv --township 太平镇"
    )
    importer = staticmethod(import_patrol_reports)
    what = "村级巡查上报"
