"""The township big patrol (大巡查): catalog, village ledgers and reports, findings, scoring, circulars,
ledgers and oversight, and the report flow. Imports no module of inspection.rounds."""
