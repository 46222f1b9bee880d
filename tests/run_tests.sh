#!/usr/bin/env bash
# Runs every unit test binary (plain and under ASan+UBSan), then the live
# httpd tests with pytest, then a subset of them with the modules built with
# ASan. Counts: one per unit CHECK, one per pytest test.
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
passed=0 failed=0 broken=0

count_unit() {   # parse "FILE: N passed, M failed" from one unit binary
  local bin="$1" out rc
  out=$("$bin" 2>&1); rc=$?
  local line p f
  line=$(printf '%s\n' "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
  if [ -z "$line" ]; then
    printf '%s\n' "$out"; echo "BROKEN: $bin (exit $rc, no summary)"; broken=$((broken + 1)); return
  fi
  p=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line"); f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$f" != 0 ] || [ "$rc" != 0 ]; then printf '%s\n' "$out"; [ "$f" = 0 ] && broken=$((broken + 1)); fi
  echo "unit $(basename "$bin"): $p passed, $f failed"
}

echo "== unit tests"
for t in build/tests/test_*; do [ -x "$t" ] && count_unit "$t"; done
count_unit tests/portability.sh     # what only a Windows or MSVC build would catch

echo "== unit tests under ASan+UBSan"
if make -s SAN="-fsanitize=address,undefined -fno-omit-frame-pointer" OPT="-O1 -g" BUILD=build/asan unit >/dev/null 2>build/asan.log; then
  for t in build/asan/tests/test_*; do
    [ -x "$t" ] && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 count_unit "$t"
  done
else
  cat build/asan.log; echo "BROKEN: sanitizer build"; broken=$((broken + 1))
fi

echo "== live httpd tests"
out=$(/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/live 2>&1); rc=$?
printf '%s\n' "$out" | tail -n 40
summary=$(printf '%s\n' "$out" | grep -E '^[=]* ?[0-9]+ (passed|failed)|[0-9]+ passed|[0-9]+ failed' | tail -n 1)
lp=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
lf=$(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
le=$(grep -oE '[0-9]+ error' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
passed=$((passed + ${lp:-0})); failed=$((failed + ${lf:-0} + ${le:-0}))
if [ "$rc" != 0 ] && [ "${lf:-0}" = 0 ] && [ "${le:-0}" = 0 ]; then
  echo "BROKEN: pytest exit $rc"; broken=$((broken + 1))
fi

echo "== live httpd tests with the modules built with ASan (libasan preloaded into httpd)"
asan_logs="$ROOT/build/asan-live-logs"
rm -rf "$asan_logs"; mkdir -p "$asan_logs"; chmod 777 "$asan_logs"   # children run as www-data
if make -s SAN="-fsanitize=address -fno-omit-frame-pointer" OPT="-O1 -g" BUILD=build/asan modules \
     >build/asan-modules.log 2>&1; then
  out=$(GX_TEST_MODULES=build/asan GX_ASAN_LOG_DIR="$asan_logs" /usr/bin/python3 -m pytest -q \
        -p no:cacheprovider tests/live/test_files.py tests/live/test_spelling.py \
        tests/live/test_access.py tests/live/test_proxy.py tests/live/test_listing.py \
        tests/live/test_ws_async.py tests/live/test_ws_async_tls.py \
        tests/live/test_ws_children.py 2>&1); rc=$?
  printf '%s\n' "$out" | tail -n 3
  lp=$(printf '%s\n' "$out" | grep -oE '[0-9]+ passed' | tail -n 1 | grep -oE '[0-9]+' || echo 0)
  lf=0
  for n in $(printf '%s\n' "$out" | tail -n 1 | grep -oE '[0-9]+ (failed|error)' | grep -oE '[0-9]+'); do
    lf=$((lf + n))
  done
  passed=$((passed + ${lp:-0})); failed=$((failed + ${lf:-0}))
  [ "$rc" != 0 ] && [ "${lf:-0}" = 0 ] && { echo "BROKEN: ASan pytest exit $rc"; broken=$((broken + 1)); }
  if [ -n "$(ls -A "$asan_logs")" ]; then
    cat "$asan_logs"/*; echo "BROKEN: AddressSanitizer reported errors in httpd"; broken=$((broken + 1))
  fi
else
  cat build/asan-modules.log; echo "BROKEN: ASan module build"; broken=$((broken + 1))
fi

[ "$broken" != 0 ] && failed=$((failed + broken))
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
