#!/bin/sh
# One dated backup (manage.py backup: database and uploads) and deletion of those older than
# BACKUP_KEEP_DAYS. Run by governance-backup.timer, or by hand with the same environment.
set -eu
: "${BACKUP_DIR:?set BACKUP_DIR}"
APP_DIR="${APP_DIR:-/opt/governance/app}"
PYTHON="${PYTHON:-/opt/governance/venv/bin/python}"
mkdir -p "$BACKUP_DIR"
target="$BACKUP_DIR/$(date +%Y-%m-%d_%H%M)"
cd "$APP_DIR"
"$PYTHON" manage.py backup --out "$target"
find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -mtime +"${BACKUP_KEEP_DAYS:-14}" -exec rm -rf {} +
