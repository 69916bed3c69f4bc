#!/bin/sh
# clang-format conformance of every C file (the test guest included).
set -e
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' 2>/dev/null; git ls-files --others --exclude-standard '*.c' '*.h' 2>/dev/null)
[ -z "$files" ] && exit 0
clang-format --dry-run -Werror $files
