#!/usr/bin/env bash
# Lets mingw build APR-util's DLL as Apache Lounge names it (libaprutil-1.dll):
# windres cannot preprocess its version resource, so it is dropped.
#   patch-apr-util.sh APR_UTIL_SOURCE_DIR
set -euo pipefail
cd "$1"
sed -i 's|^ADD_LIBRARY(libaprutil-1 SHARED \(.*\) libaprutil.rc)$|ADD_LIBRARY(libaprutil-1 SHARED \1)\nSET_TARGET_PROPERTIES(libaprutil-1 PROPERTIES PREFIX "")|' CMakeLists.txt
grep -q 'libaprutil-1 PROPERTIES PREFIX ""' CMakeLists.txt || { echo "patch-apr-util.sh: APR-util's CMakeLists.txt changed; update this script" >&2; exit 1; }
