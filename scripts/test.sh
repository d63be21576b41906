#!/usr/bin/env bash
# Runs the test suite with node's test runner.
#   scripts/test.sh                          every test/**/*.test.ts
#   scripts/test.sh test/storage [FILE...]   only these files / folders
#   TEST_FILES="a.test.ts b.test.ts" scripts/test.sh
# Arguments starting with '-' go to node (use the --flag=value form), e.g. --test-name-pattern=watch.
set -euo pipefail

REPO="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$REPO"

bash scripts/setup.sh

node_flags=()
selected=()
for arg in "$@"; do
  if [[ "$arg" == -* ]]; then node_flags+=("$arg"); else selected+=("$arg"); fi
done
if ((${#selected[@]} == 0)) && [[ -n "${TEST_FILES:-}" ]]; then
  read -r -a selected <<<"$TEST_FILES"
fi
((${#selected[@]} == 0)) && selected=(test)

files=()
for path in "${selected[@]}"; do
  if [[ -d "$path" ]]; then
    mapfile -t -O "${#files[@]}" files < <(find "$path" -name node_modules -prune -o -type f -name '*.test.ts' -print | LC_ALL=C sort)
  elif [[ -f "$path" ]]; then
    files+=("$path")
  else
    echo "test.sh: no such test file or folder: $path" >&2
    exit 2
  fi
done
if ((${#files[@]} == 0)); then
  echo "test.sh: no *.test.ts files in: ${selected[*]}" >&2
  exit 2
fi

# Lent watch objects are checked against their stored JSON in every server the tests start (a mismatch is
# reported on stderr: somebody changed an object that watchers share).
export TIMONEL_CHECK_LENT=1
exec node --import tsx --test --test-reporter=spec --test-timeout=120000 "${node_flags[@]}" "${files[@]}"
