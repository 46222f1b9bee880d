#!/usr/bin/env bash
# Cross-builds the core, the CLIs and every unit test for 64-bit Windows with
# mingw-w64 and CMake, and runs the tests under Wine.
# Then builds httpd for Windows too, the three modules against it, and serves
# the demo app with `wine httpd.exe` (tests/win/test_httpd_wine.py).
#   win/wintest.sh            (./apxs-build.sh wintest calls this)
# Third-party libraries (APR, APR-util, expat, libyaml, PCRE2, httpd, and for
# secrets OpenSSL and curl) are built from Debian's source packages, fetched
# through a private apt config (deb-src), into prefixes under GX_WIN_CACHE
# (default /var/cache/gramex-wintest), outside the work tree, keyed by their
# recipes (win/third-party.sh, win/crypto.sh): the first run builds them,
# later runs reuse them.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${GX_WIN_CACHE:-/var/cache/gramex-wintest}"
PREFIX="$CACHE/prefix"
TOOLCHAIN="$ROOT/win/mingw64.cmake"
BUILD="$ROOT/build/win"
PKGS=(gcc-mingw-w64-x86-64 wine64 cmake make dpkg-dev python3-pytest python3-websockets python3-tornado)
HTTPD_PREFIX="$CACHE/httpd"
HTTPD_BUILD="$ROOT/build/win-httpd"

export WINEPREFIX="$CACHE/wine" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY

say() { printf '==> [%4ss] %s\n' "$SECONDS" "$*" >&2; }
die() { printf 'wintest: %s\n' "$*" >&2; exit 1; }

deps() {
  local p missing=()
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} = 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "missing packages; run: sudo apt-get install -y ${missing[*]}"
  say "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

. "$ROOT/win/third-party.sh"
. "$ROOT/win/crypto.sh"

# The three modules as DLLs against the httpd prefix, the way
# CMakeLists.txt builds them against Apache Lounge (APR as a DLL, not static).
# A build directory made against other prefixes (another key or GX_WIN_CACHE)
# holds CMake's cached library paths to them: start it afresh.
fresh_build_dir() {
  local stamp="$key $(cat "$CRYPTO_PREFIX/.key") $CACHE"
  [ "$(cat "$1/.prefix-key" 2>/dev/null)" = "$stamp" ] || rm -rf "$1"
  mkdir -p "$1"
  echo "$stamp" > "$1/.prefix-key"
}

build_modules() {
  say "building mod_gramex, mod_gramex_ws and mod_gramex_secrets against httpd for mingw (warnings are errors)"
  fresh_build_dir "$HTTPD_BUILD"
  cmake -S "$ROOT" -B "$HTTPD_BUILD" -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DCMAKE_BUILD_TYPE=Debug \
        -DGX_WIN_PREFIX="$HTTPD_PREFIX;$PREFIX;$CRYPTO_PREFIX" -DAPACHE_ROOT_DIR="$HTTPD_PREFIX" \
        -DCMAKE_PREFIX_PATH="$PREFIX;$CRYPTO_PREFIX" $(crypto_cmake_args) -DGX_BUILD_TESTS=OFF \
        >"$HTTPD_BUILD.log" 2>&1 \
      || { tail -n 30 "$HTTPD_BUILD.log"; die "configuring the modules failed ($HTTPD_BUILD.log)"; }
  cmake --build "$HTTPD_BUILD" -j2 --target mod_gramex mod_gramex_ws mod_gramex_secrets >>"$HTTPD_BUILD.log" 2>&1 \
      || { grep -E 'error|warning' "$HTTPD_BUILD.log" | head -n 40; die "the module build failed ($HTTPD_BUILD.log)"; }
}

# httpd.exe under Wine serving the demo app: real HTTP requests from Python.
serve_tests() {
  say "serving the demo with wine httpd.exe"
  cd "$ROOT"
  GX_WIN_HTTPD="$HTTPD_PREFIX" GX_WIN_MODULES="$HTTPD_BUILD" \
      timeout 900 /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/win/test_httpd_wine.py
}

build_gramex() {
  say "building the core, CLIs and unit tests with mingw (warnings are errors)"
  fresh_build_dir "$BUILD"
  cmake_cross "$ROOT" "$BUILD" "$PREFIX;$CRYPTO_PREFIX" -DAPACHE_ROOT_DIR="$PREFIX" \
      -DCMAKE_PREFIX_PATH="$PREFIX;$CRYPTO_PREFIX" $(crypto_cmake_args) -DGX_APR_STATIC=ON -DCMAKE_BUILD_TYPE=Debug
  cmake --build "$BUILD" -j2 >"$BUILD.log" 2>&1 \
      || { grep -E 'error|warning' "$BUILD.log" | head -n 40; die "the mingw build failed ($BUILD.log)"; }
}

# Every unit test under Wine, from the source tree (they read tests/fixtures).
run_tests() {
  local t out line p f passed=0 failed=0 broken=0
  say "running the unit tests under Wine ($(wine --version 2>/dev/null))"
  wineboot -i >/dev/null 2>&1 || true
  cd "$ROOT"
  for t in "$BUILD"/test_*.exe; do
    out=$(timeout 600 wine "$t" 2>&1); rc=$?
    line=$(printf '%s\n' "$out" | tr -d '\r' | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$line" ]; then
      printf '%s\n' "$out"; echo "BROKEN: $(basename "$t") (exit $rc, no summary)"; broken=$((broken + 1)); continue
    fi
    p=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line"); f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" != 0 ] || [ "$rc" != 0 ]; then printf '%s\n' "$out" | tr -d '\r'; [ "$f" = 0 ] && broken=$((broken + 1)); fi
    echo "wine $(basename "$t"): $p passed, $f failed"
  done
  failed=$((failed + broken))
  echo "windows (wine): $passed passed, $failed failed"
  [ "$failed" = 0 ]
}

deps
mkdir -p "$CACHE"
fetch_sources
fetch_crypto_sources
key=$(prefix_key)
static_prefix "$key"
httpd_prefix "$key"
crypto_prefix
build_gramex
build_modules
rc=0
( set +e; run_tests ) || rc=$?
( set +e; serve_tests ) || rc=1
exit $rc
