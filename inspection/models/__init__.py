"""The inspection app's models: the township big patrol (`patrol`) and the county inspection (`rounds`)
share the app label `inspection` and no model."""

from .patrol import (
    CatalogItem,
    Circular,
    DepartmentConfirmation,
    PatrolCategory,
    PatrolFinding,
    PatrolReport,
    SupervisionCheck,
    SupervisionGroup,
    VillagePatrol,
)
from .rounds import (
    FocusCategory,
    InspectionFinding,
    InspectionGroup,
    InspectionLetter,
    InspectionRound,
    LookBack,
    MobileProposal,
    ProblemClue,
    RoundTarget,
    TalkRecord,
)

__all__ = [
    "PatrolCategory",
    "SupervisionGroup",
    "CatalogItem",
    "VillagePatrol",
    "PatrolReport",
    "PatrolFinding",
    "SupervisionCheck",
    "DepartmentConfirmation",
    "Circular",
    "InspectionRound",
    "InspectionGroup",
    "RoundTarget",
    "MobileProposal",
    "FocusCategory",
    "InspectionFinding",
    "TalkRecord",
    "ProblemClue",
    "InspectionLetter",
    "LookBack",
]
