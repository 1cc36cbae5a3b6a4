from inspection.management.commands._patrol_import import PatrolImportCommand
from inspection.patrol.imports import import_patrol_catalog


class Command(PatrolImportCommand):
    help = (
        "从 .xlsx 或 .csv 文件导入乡镇巡查目录（附件2）。列：编号、事项、类别、牵头部门、分值、佐证要求。"
        "类别不存在时自动新建；牵头部门须为该乡镇已有的部门；分值须大于 0。编号已存在的事项按文件更新。"
        "有任何一行出错则不导入任何数据。例：manage.py import_patrol_catalog 巡查目录.xlsx --township 太平镇"
    )
    importer = staticmethod(import_patrol_catalog)
    what = "巡查目录"
