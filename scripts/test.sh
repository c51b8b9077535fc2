#!/usr/bin/env bash
# The whole suite: everything on SQLite, then the hub's suite again on a real PostgreSQL server.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
PY=${PY:-.venv/bin/python}
eval "$(scripts/test-postgres.sh start)"
# shellcheck disable=SC2317  # called by the trap
cleanup() {
    if [ -n "${OFFICE360_TEST_PG_DIR:-}" ]; then
        scripts/test-postgres.sh stop "$OFFICE360_TEST_PG_DIR"
    fi
}
trap cleanup EXIT
# shellcheck disable=SC2086
"$PY" -m pytest -q ${PYTEST_ARGS:-}
status=$?
if [ -n "${OFFICE360_TEST_PG:-}" ] && [ -z "${PYTEST_ARGS:-}" ]; then
    echo "--- the hub's suite on PostgreSQL ---"
    OFFICE360_TEST_BACKEND=postgres "$PY" -m pytest -q tests/hub
    pg_status=$?
    [ $status -eq 0 ] && status=$pg_status
fi
exit $status
