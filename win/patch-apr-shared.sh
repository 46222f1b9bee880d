#!/usr/bin/env bash
# After patch-apr.sh: lets mingw link APR's DLL as Apache Lounge names it
# (libapr-1.dll). windres cannot preprocess APR's version resource: drop it.
#   patch-apr-shared.sh APR_SOURCE_DIR
set -euo pipefail
cd "$1"
sed -i 's|^ADD_LIBRARY(libapr-1 SHARED \(.*\) libapr.rc)$|ADD_LIBRARY(libapr-1 SHARED \1)\nSET_TARGET_PROPERTIES(libapr-1 PROPERTIES PREFIX "")|' CMakeLists.txt
grep -q 'libapr-1 PROPERTIES PREFIX ""' CMakeLists.txt || { echo "patch-apr-shared.sh: APR's CMakeLists.txt changed; update this script" >&2; exit 1; }
