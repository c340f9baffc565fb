#!/usr/bin/env bash
# pytest with "no tests collected" (exit 5) turned into a loud failure, never a silent pass.
set -uo pipefail
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
