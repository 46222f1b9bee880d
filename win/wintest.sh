#!/usr/bin/env bash
# Cross-builds the core, the CLIs and every unit test for 64-bit Windows with
# mingw-w64 and CMake, and runs the tests under Wine.
#   win/wintest.sh            (./apxs-build.sh wintest calls this)
# Third-party libraries (APR, libyaml, PCRE2) are built from Debian's source
# packages, fetched through a private apt config (deb-src) and built into a
# prefix under GX_WIN_CACHE (default /var/cache/gramex-wintest), outside the
# work tree: the first run builds them, later runs reuse them.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${GX_WIN_CACHE:-/var/cache/gramex-wintest}"
PREFIX="$CACHE/prefix"
TOOLCHAIN="$ROOT/win/mingw64.cmake"
BUILD="$ROOT/build/win"
PKGS=(gcc-mingw-w64-x86-64 wine64 cmake make)
SOURCES=(apr libyaml pcre2)
PREFIX_STAMP="$PREFIX/.built-v1"

export WINEPREFIX="$CACHE/wine" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY

say() { printf '==> %s\n' "$*" >&2; }
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

# apt-get with a private sources list (deb-src) and state under $CACHE/apt:
# the host's apt config is not touched.
private_apt() {
  local a="$CACHE/apt"
  mkdir -p "$a/lists/partial" "$a/archives/partial"
  [ -f "$a/sources.list" ] || echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
      "http://deb.debian.org/debian bookworm main" > "$a/sources.list"
  apt-get -q -o Dir::Etc::SourceList="$a/sources.list" -o Dir::Etc::SourceParts=/dev/null \
      -o Dir::State::Lists="$a/lists" -o Dir::Cache::Archives="$a/archives" \
      -o APT::Sandbox::User=root "$@"
}

fetch_sources() {
  mkdir -p "$CACHE/src"
  if ! ls "$CACHE/src"/apr_*.orig.tar.* >/dev/null 2>&1 || ! ls "$CACHE/src"/pcre2_*.orig.tar.* >/dev/null 2>&1 \
     || ! ls "$CACHE/src"/libyaml_*.orig.tar.* >/dev/null 2>&1; then
    say "fetching Debian source packages: ${SOURCES[*]}"
    private_apt update >/dev/null
    (cd "$CACHE/src" && private_apt source --download-only "${SOURCES[@]}" >/dev/null)
  fi
}

# unpack NAME: a fresh copy of the upstream tree under $CACHE/work, echoed.
unpack() {
  local tarball dir
  tarball=$(ls "$CACHE/src/$1"_*.orig.tar.* | head -n 1)
  mkdir -p "$CACHE/work"
  dir="$CACHE/work/$(tar tf "$tarball" | head -n 1 | cut -d/ -f1)"
  rm -rf "$dir" "$dir.build"
  tar xf "$tarball" -C "$CACHE/work"
  echo "$dir"
}

cmake_cross() {   # cmake_cross SRC BUILD [ARGS...]
  local src="$1" bld="$2"; shift 2
  cmake -S "$src" -B "$bld" -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX="$PREFIX" -DGX_WIN_PREFIX="$PREFIX" "$@" >"$bld.log" 2>&1 \
      || { tail -n 30 "$bld.log"; die "configuring $src failed ($bld.log)"; }
}

build_prefix() {
  local d
  [ -f "$PREFIX_STAMP" ] && { say "third-party prefix cached: $PREFIX"; return 0; }
  rm -rf "$PREFIX"; mkdir -p "$PREFIX/lib" "$PREFIX/include"
  fetch_sources
  say "building APR (static) for mingw"
  d=$(unpack apr)
  "$ROOT/win/patch-apr.sh" "$d"
  cmake_cross "$d" "$d.build" -DAPR_HAVE_IPV6=ON
  cmake --build "$d.build" -j2 --target apr-1 >>"$d.build.log" 2>&1 || { tail -n 30 "$d.build.log"; die "APR build failed"; }
  cp "$d.build/libapr-1.a" "$PREFIX/lib/"
  cp "$d"/include/*.h "$d.build/apr.h" "$PREFIX/include/"
  say "building libyaml (static) for mingw"
  d=$(unpack libyaml)
  cmake_cross "$d" "$d.build" -DBUILD_SHARED_LIBS=OFF -DBUILD_TESTING=OFF
  cmake --build "$d.build" -j2 >>"$d.build.log" 2>&1 && cmake --install "$d.build" >>"$d.build.log" 2>&1 \
      || { tail -n 30 "$d.build.log"; die "libyaml build failed"; }
  say "building PCRE2 (static) for mingw"
  d=$(unpack pcre2)
  cmake_cross "$d" "$d.build" -DBUILD_SHARED_LIBS=OFF -DPCRE2_BUILD_PCRE2GREP=OFF -DPCRE2_BUILD_TESTS=OFF \
      -DPCRE2_SUPPORT_LIBBZ2=OFF -DPCRE2_SUPPORT_LIBZ=OFF -DPCRE2_SUPPORT_LIBREADLINE=OFF -DPCRE2_SUPPORT_LIBEDIT=OFF
  cmake --build "$d.build" -j2 >>"$d.build.log" 2>&1 && cmake --install "$d.build" >>"$d.build.log" 2>&1 \
      || { tail -n 30 "$d.build.log"; die "PCRE2 build failed"; }
  touch "$PREFIX_STAMP"
}

build_gramex() {
  say "building the core, CLIs and unit tests with mingw (warnings are errors)"
  mkdir -p "$BUILD"
  cmake_cross "$ROOT" "$BUILD" -DAPACHE_ROOT_DIR="$PREFIX" -DCMAKE_PREFIX_PATH="$PREFIX" -DGX_APR_STATIC=ON \
      -DCMAKE_BUILD_TYPE=Debug
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
build_prefix
build_gramex
rc=0
( set +e; run_tests ) || rc=$?
exit $rc
