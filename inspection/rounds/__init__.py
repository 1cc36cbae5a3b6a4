"""The county inspection (巡察): rounds, groups and targets, mobile inspection and its flow, onsite work
(findings, talks, clues, look-backs), letters, feedback and the group's reports. Imports no module of
inspection.patrol."""
