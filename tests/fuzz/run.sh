#!/usr/bin/env bash
# Build the libFuzzer targets (clang, ASan + UBSan) and run each for a
# bounded time. Not part of `./apxs-build.sh test`.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]     default 20 s each, all targets
# Seeds: tests/fuzz/corpus/TARGET (kept small, in the repo), plus the YAML
# of tests/ and demo/ for the YAML targets. The growing corpus and any
# crash files go to build/fuzz/. Exit status non-zero if a target crashed.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
SECONDS_EACH="${1:-20}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(yaml load pattern pathrule secrets secrets_yaml)
OUT=build/fuzz
CC=${FUZZ_CC:-clang}
APR_CONFIG=$(apxs -q APR_CONFIG 2>/dev/null || echo apr-1-config)
APU_CONFIG=$(apxs -q APU_CONFIG 2>/dev/null || echo apu-1-config)
CFLAGS="-g -O1 -Werror -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
        -fno-omit-frame-pointer $($APR_CONFIG --includes --cppflags)
        -Imod_gramex -Imod_gramex_secrets -Itests/fuzz"
LIBS="-lyaml -lpcre2-8 $($APR_CONFIG --link-ld) $($APU_CONFIG --link-ld) -lm"
mkdir -p "$OUT"

build_target() {   # name, extra sources...
  local name="$1"; shift
  # shellcheck disable=SC2086
  $CC $CFLAGS "tests/fuzz/fuzz_$name.c" mod_gramex/gx_*.c "$@" -o "$OUT/fuzz_$name" $LIBS \
      $( [ $# -gt 0 ] && echo -lcurl -lcrypto ) || { echo "fuzz: cannot build $name" >&2; exit 2; }
}

seed() {   # name -> seed directories
  local name="$1" dirs=()
  [ -d "tests/fuzz/corpus/$name" ] && dirs+=("tests/fuzz/corpus/$name")
  if [ "$name" = yaml ] || [ "$name" = load ]; then
    mkdir -p "$OUT/seed-yaml"
    find tests demo conf -name '*.yaml' -size -64k 2>/dev/null | while read -r f; do
      cp "$f" "$OUT/seed-yaml/$(echo "$f" | tr '/' '_')"
    done
    dirs+=("$OUT/seed-yaml")
  fi
  echo "${dirs[@]}"
}

failed=0
for t in "${TARGETS[@]}"; do
  echo "== fuzz_$t: building"
  if [ "$t" = secrets ] || [ "$t" = secrets_yaml ]; then
    build_target "$t" $(ls mod_gramex_secrets/gx_*.c)
  else
    build_target "$t"
  fi
  mkdir -p "$OUT/corpus-$t" "$OUT/crashes-$t"
  echo "== fuzz_$t: ${SECONDS_EACH}s"
  # shellcheck disable=SC2046
  if ! GX_FUZZ_CONF="$ROOT/conf" ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
       "$OUT/fuzz_$t" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 \
       -max_len=8192 -artifact_prefix="$OUT/crashes-$t/" -print_final_stats=1 \
       "$OUT/corpus-$t" $(seed "$t") >"$OUT/fuzz_$t.log" 2>&1; then
    echo "fuzz_$t: FOUND A PROBLEM (log $OUT/fuzz_$t.log, inputs in $OUT/crashes-$t/)"
    grep -E "ERROR|runtime error|SUMMARY" "$OUT/fuzz_$t.log" | head -5
    failed=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$OUT/fuzz_$t.log" | tr '\n' ' '; echo
  fi
done
exit $failed
