"""The Chinese name of every audit action, for the audit log, its export and each case's history.
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

ACTION_LABELS = {
    # system: regions, posts, accounts
    "region.create": "新增区域", "region.update": "修改区域", "region.boundary": "设置区域边界", "holiday.fill": "导入节假日",
    "department.create": "新增部门", "category_routing.create": "设置类别牵头部门",
    "user.create": "新建账号", "user.grant_superuser": "授予超级用户", "post.create": "任命岗位", "post.end": "免去岗位",
    "two_factor.enrol": "启用两步验证", "two_factor.disable": "关闭两步验证",
    "two_factor.recovery_codes": "生成两步验证恢复码", "two_factor.recovery_code_used": "使用两步验证恢复码登录",
    "api_token.create": "创建接口令牌", "api_token.revoke": "吊销接口令牌",
    "job.start": "开始后台任务", "job.restart": "重新开始后台任务", "job.finish": "后台任务结束",
    # grid: events, patrols, diaries
    "event.report": "上报事件", "event.resolve": "就地处置结案", "event.escalate": "上报上一级",
    "event.dispatch": "派单至部门", "event.merge": "合并为重复事件", "event.reject": "驳回",
    "event.department.resolve": "部门办结", "event.department.send_back": "部门退回",
    "event.verify.satisfied": "核实满意", "event.verify.return": "核实不满意，退回处置",
    "event.verify.return_to_department": "核实不满意，退回部门", "event.rate": "评价",
    "flow_policy.create": "新增流程策略版本",
    "event.supervised": "超期督办", "event.auto_escalate": "超期自动上报上一级", "event.export": "导出网格事件",
    "patrol.record": "记录巡查", "diary.write": "填写日志", "diary.update": "修改日志", "diary.review": "审核确认",
    "grid.patrol.export": "导出巡查记录", "grid.diary.export": "导出工作日志", "grid.compliance.export": "导出巡查频次落实",
    "grid.staff_assessment.export": "导出网格员考核",
    "grid.post.export": "导出岗位花名册",
    "household.add": "登记住户", "household.change": "修改住户", "household.visit": "登记入户走访",
    # big patrol
    "patrol_category.create": "新增巡查类别", "catalog_item.create": "新增巡查目录事项",
    "catalog_item.update": "修改巡查目录事项", "supervision_group.create": "组建督查组",
    "supervision_group.add_member": "增加督查组成员",
    "village_patrol.record": "记录村级巡查", "patrol_report.create": "新增村级上报", "patrol_report.import": "导入村级上报",
    "patrol_report.submit": "村（居）上报",
    "patrol_report.verify.true": "核实属实，登记备案并加分", "patrol_report.verify.false": "核实不属实",
    "patrol_report.verify.duplicate": "核实为重复上报",
    "patrol_report.review.passed": "乡镇巡查办审核通过，转牵头部门核实", "patrol_report.review.rejected": "乡镇巡查办审核不通过",
    "patrol_report.follow_up.enforcement": "安排执法处置", "patrol_report.follow_up.rectification": "责令整改",
    "patrol_report.follow_up.none": "无需后续处置", "patrol_report.flag_fraud": "认定弄虚作假，加分冲销",
    "patrol_finding.create": "新增发现问题", "patrol_finding.import": "导入发现问题", "patrol_finding.record": "录入发现问题",
    "patrol_finding.register": "核实登记备案", "patrol_finding.flag_fraud": "认定弄虚作假",
    "supervision_check.record": "记录督查", "department_confirmation.confirm": "部门确认当月核实",
    "patrol_circular.publish": "发布考评通报", "patrol_circular.export": "导出考评通报",
    "patrol_incentive.export": "导出季度激励方案", "patrol_year.export": "导出年度绩效考核汇总",
    "patrol_work_record.create": "登记大巡查会议或简讯", "assessment_exemption.create": "设置不参加考评的区域",
    "village_ledger.export": "导出村级巡查台账", "department_book.export": "导出部门登记簿",
    "patrol_finding.export": "导出发现问题", "supervision_check.export": "导出督查记录",
    "village_patrol.export": "导出村级巡查记录", "patrol_report.export": "导出村级上报",
    # county inspection
    "inspection_round.create": "新建巡察轮次", "inspection_group.create": "组建巡察组",
    "inspection_group.set_targets": "确定巡察对象", "round_target.create": "增加巡察对象",
    "inspection_group.timeline": "登记时间节点", "inspection_group.feedback": "反馈巡察意见",
    "focus_category.create": "新增问题类别",
    "mobile_proposal.propose": "巡察组提出机动巡察", "mobile_proposal.approved": "领导小组同意",
    "mobile_proposal.rejected": "领导小组不同意",
    "inspection_finding.record": "记录问题底稿", "inspection_talk.record": "记录谈话",
    "inspection_clue.record": "报送问题线索", "inspection_look_back.schedule": "安排回头看",
    "inspection_look_back.result": "登记回头看结果",
    "inspection_letter.issue": "制发巡察文书", "inspection_letter.reply": "登记回复",
    "inspection_letter.overdue": "文书逾期未回复", "inspection_letter.overdue_cleared": "文书逾期标记解除",
    "inspection_report.export": "导出三报告四清单",
    "inspection.round.export": "导出巡察轮次", "inspection.finding.export": "导出问题底稿",
    "inspection.talk.export": "导出谈话记录", "inspection.clue.export": "导出问题线索",
    "inspection.look_back.export": "导出回头看", "inspection.letter.export": "导出巡察文书",
    # rectification
    "rectification_plan.create": "建立整改方案", "rectification_plan.import": "由整改台账导入方案",
    "rectification_plan.update": "修改整改方案", "rectification_plan.header": "修改方案信息",
    "rectification_plan.meeting": "登记整改会议", "rectification_plan.measure": "登记建章立制",
    "rectification_plan.recovery": "登记追回资金", "rectification_plan.petition": "登记转办信访件",
    "rectification_plan.accountability": "登记问责处理", "rectification_plan.demo_records": "载入演示记录",
    "rectification_item.create": "新增整改事项", "rectification_item.update": "明确责任领导、责任单位与措施",
    "rectification_item.progress": "报送整改进展", "rectification_item.claim": "申请销号",
    "rectification_item.claim_closed": "申报已整改，按流程策略直接销号",
    "rectification_item.verify": "验收通过，销号", "rectification_item.return": "验收未通过，退回继续整改",
    "rectification_item.unfinished": "说明未完成原因与下一步措施", "rectification_item.overdue": "逾期未整改",
    "rectification_item.overdue_cleared": "逾期标记解除", "rectification_item.import": "由整改台账导入",
    "rectification_item.reminder": "发出逾期提醒函", "rectification_item.supervision": "发出督办函",
    "progress_notice.draft": "起草整改进展情况通报", "progress_notice.approve": "审核通报",
    "progress_notice.publish": "公开通报", "progress_notice.edit": "修改通报文字",
    "notice_template.save": "保存通报模板",
    "rectification.item.export": "导出整改事项", "rectification.plan.export": "导出整改方案汇总",
    "governance.audit.export": "导出审计日志",
}


def action_label(action: str) -> str:
    """The action's Chinese name; the code itself when none is known (never an empty cell)."""
    return ACTION_LABELS.get(action, action)
