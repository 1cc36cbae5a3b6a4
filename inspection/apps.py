from django.apps import AppConfig


class InspectionConfig(AppConfig):
    name = "inspection"
    verbose_name = "大巡查与巡察"

    def ready(self):
        # Deferred: these modules import models, importable only once the app registry is ready
        from governance import visibility
        from grid import access_cache
        from grid.access import RegionRule

        from .models import (
            InspectionFinding,
            InspectionGroup,
            InspectionLetter,
            InspectionRound,
            LookBack,
            MobileProposal,
            PatrolFinding,
            PatrolReport,
            ProblemClue,
            RoundTarget,
            SupervisionCheck,
            TalkRecord,
            VillagePatrol,
        )
        from .patrol import (
            findings,
            job_kinds,  # noqa: F401 (registers its job kinds; the jobs app looks only for inspection.job_kinds)
        )
        from .rounds import group_reports as round_reports
        from .rounds import job_kinds as round_job_kinds  # noqa: F401 (registers its job kinds)
        from .rounds import letters, onsite
        from .rounds import round_services as rounds

        # Each kind's own rule, asked by the audit log and the evidence route as by the kind's pages.
        visibility.register(RegionRule(PatrolReport, "inspection.view_patrolreport"))
        visibility.register_records(PatrolFinding, findings.visible_findings)
        # A supervision group's checks and a village's ledger (notes, routes, patrollers): where their view
        # permission is held, as their lists (patrol:checks, patrol:ledger) scope them.
        visibility.register(RegionRule(SupervisionCheck, "inspection.view_supervisioncheck"))
        visibility.register(RegionRule(VillagePatrol, "inspection.view_villagepatrol"))
        visibility.register_records(InspectionRound, rounds.rounds_visible)
        visibility.register_records(RoundTarget, rounds.targets_visible)
        visibility.register_records(MobileProposal, rounds.proposals_visible)
        visibility.register_records(InspectionGroup, round_reports.groups_seen)
        # The inspected organisation reads its fed-back problems, not their internal fields or recorder.
        visibility.register_records(InspectionFinding, onsite.visible_findings, onsite.findings_in_full)
        visibility.register_records(TalkRecord, onsite.visible_talks)
        visibility.register_records(ProblemClue, onsite.visible_clues)
        visibility.register_records(LookBack, onsite.visible_look_backs)
        visibility.register_records(InspectionLetter, letters.visible_letters)
        # The menu's "leads a group" is kept with each user's cached access until a group changes.
        access_cache.register_fact(onsite.LEADS_A_GROUP, onsite.leads_a_group, models=[InspectionGroup])
        access_cache.register_fact(onsite.IN_A_GROUP, onsite.in_a_group, models=[InspectionGroup],
                                   m2m=[InspectionGroup.deputies.through, InspectionGroup.members.through])

