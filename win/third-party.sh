# Sourced by wintest.sh: builds the third-party libraries for 64-bit Windows
# with mingw-w64 from Debian's source packages, into two prefixes under $CACHE:
#   $CACHE/prefix  static APR, libyaml, PCRE2: the core, the CLIs, the unit tests
#   $CACHE/httpd   an Apache Lounge-like tree: bin/ (httpd.exe, libhttpd.dll,
#                  libapr-1.dll, libaprutil-1.dll), modules/, include/, lib/, conf/
# Each prefix holds a .key: a hash of these build scripts and the source
# tarballs' names. A prefix whose key differs (a script or a source changed,
# or an earlier build stopped half way) is built again from scratch.
# Needs: ROOT, CACHE, TOOLCHAIN, say, die.

SOURCES=(apr libyaml pcre2 apr-util expat apache2)

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
  local s missing=()
  mkdir -p "$CACHE/src"
  for s in "${SOURCES[@]}"; do
    ls "$CACHE/src/${s}"_*.orig.tar.* >/dev/null 2>&1 || missing+=("$s")
  done
  [ ${#missing[@]} = 0 ] && return 0
  say "fetching Debian source packages: ${missing[*]}"
  private_apt update >/dev/null
  (cd "$CACHE/src" && private_apt source --download-only "${missing[@]}" >/dev/null)
}

# The key of the prefixes: the recipes (this file, the patch scripts, the
# toolchain) and the exact source versions.
prefix_key() {
  { cat "$ROOT/win/third-party.sh" "$ROOT"/win/patch-*.sh "$TOOLCHAIN"
    ls "$CACHE/src"/*.orig.tar.*; } | sha256sum | cut -c1-16
}

# unpack NAME: a fresh copy of the upstream tree under $CACHE/work, echoed.
unpack() {
  local tarball dir
  tarball=$(ls "$CACHE/src/$1"_*.orig.tar.* | grep -v '\.asc$' | head -n 1)
  mkdir -p "$CACHE/work"
  dir="$CACHE/work/$(tar tf "$tarball" | head -n 1 | cut -d/ -f1)"
  rm -rf "$dir" "$dir.build"
  tar xf "$tarball" -C "$CACHE/work"
  echo "$dir"
}

cmake_cross() {   # cmake_cross SRC BUILD PREFIX [ARGS...]
  local src="$1" bld="$2" pfx="$3"; shift 3
  cmake -S "$src" -B "$bld" -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX="$pfx" -DGX_WIN_PREFIX="$pfx" "$@" >"$bld.log" 2>&1 \
      || { tail -n 30 "$bld.log"; die "configuring $src failed ($bld.log)"; }
}

cmake_make() {    # cmake_make BUILD WHAT [TARGETS...]: build (and install if no targets)
  local bld="$1" what="$2"; shift 2
  if [ $# = 0 ]; then
    cmake --build "$bld" -j2 >>"$bld.log" 2>&1 && cmake --install "$bld" >>"$bld.log" 2>&1
  else
    cmake --build "$bld" -j2 --target "$@" >>"$bld.log" 2>&1
  fi || { grep -E 'error|Error' "$bld.log" | head -n 20; die "$what build failed ($bld.log)"; }
}

static_prefix() {   # static_prefix KEY
  local d pfx="$CACHE/prefix"
  [ "$(cat "$pfx/.key" 2>/dev/null)" = "$1" ] && { say "static prefix cached: $pfx"; return 0; }
  rm -rf "$pfx"; mkdir -p "$pfx/lib" "$pfx/include"
  say "building APR (static) for mingw"
  d=$(unpack apr)
  "$ROOT/win/patch-apr.sh" "$d"
  cmake_cross "$d" "$d.build" "$pfx" -DAPR_HAVE_IPV6=ON
  cmake_make "$d.build" APR apr-1
  cp "$d.build/libapr-1.a" "$pfx/lib/"
  cp "$d"/include/*.h "$d.build/apr.h" "$pfx/include/"
  say "building libyaml (static) for mingw"
  d=$(unpack libyaml)
  cmake_cross "$d" "$d.build" "$pfx" -DBUILD_SHARED_LIBS=OFF -DBUILD_TESTING=OFF
  cmake_make "$d.build" libyaml
  say "building PCRE2 (static) for mingw"
  d=$(unpack pcre2)
  cmake_cross "$d" "$d.build" "$pfx" -DBUILD_SHARED_LIBS=OFF -DPCRE2_BUILD_PCRE2GREP=OFF -DPCRE2_BUILD_TESTS=OFF \
      -DPCRE2_SUPPORT_LIBBZ2=OFF -DPCRE2_SUPPORT_LIBZ=OFF -DPCRE2_SUPPORT_LIBREADLINE=OFF -DPCRE2_SUPPORT_LIBEDIT=OFF
  cmake_make "$d.build" PCRE2
  echo "$1" > "$pfx/.key"
}

# httpd's modules the wintest server loads (mod_gramex asks for proxy and
# proxy_http when an app has proxy routes; the status page is mod_gramex's own).
HTTPD_MODULES=(mod_authz_core mod_authz_host mod_mime mod_headers mod_log_config mod_dir mod_alias
               mod_proxy mod_proxy_http mod_proxy_wstunnel)

# Apache httpd as Apache Lounge lays it out, with APR and APR-util as DLLs
# (httpd and every module share one APR). PCRE2 links statically into libhttpd.
httpd_prefix() {    # httpd_prefix KEY  (after static_prefix: PCRE2 comes from there)
  local d s pfx="$CACHE/httpd" spfx="$CACHE/prefix" apr_libs
  [ "$(cat "$pfx/.key" 2>/dev/null)" = "$1" ] && { say "httpd prefix cached: $pfx"; return 0; }
  rm -rf "$pfx"; mkdir -p "$pfx"/{bin,lib,modules,conf,logs,include/arch/win32}
  say "building APR (DLL) for mingw"
  d=$(unpack apr)
  "$ROOT/win/patch-apr.sh" "$d"; "$ROOT/win/patch-apr-shared.sh" "$d"
  cmake_cross "$d" "$d.build" "$pfx" -DAPR_HAVE_IPV6=ON
  cmake_make "$d.build" APR libapr-1
  cp "$d.build/libapr-1.dll" "$pfx/bin/"; cp "$d.build"/*.dll.a "$pfx/lib/"
  cp "$d"/include/*.h "$d.build/apr.h" "$pfx/include/"
  # httpd includes a few of APR's private headers (APR_INSTALL_PRIVATE_H in APR's CMake)
  cp "$d"/include/arch/win32/apr_{arch_file_io,arch_misc,arch_utf8,private}.h "$pfx/include/arch/win32/"
  cp "$d/include/arch/apr_private_common.h" "$pfx/include/arch/"
  say "building expat (static) for mingw"
  d=$(unpack expat)
  cmake_cross "$d/expat" "$d.build" "$pfx" -DEXPAT_SHARED_LIBS=OFF -DEXPAT_BUILD_TOOLS=OFF -DEXPAT_BUILD_EXAMPLES=OFF \
      -DEXPAT_BUILD_TESTS=OFF -DEXPAT_BUILD_DOCS=OFF
  cmake_make "$d.build" expat
  say "building APR-util (DLL) for mingw"
  d=$(unpack apr-util)
  "$ROOT/win/patch-apr-util.sh" "$d"
  cmake_cross "$d" "$d.build" "$pfx" -DAPR_INCLUDE_DIR="$pfx/include" -DAPR_LIBRARIES="$pfx/lib/liblibapr-1.dll.a" \
      -DAPU_HAVE_ODBC=OFF -DAPR_HAS_LDAP=OFF -DINSTALL_PDB=OFF -DCMAKE_C_FLAGS=-DXML_STATIC
  cmake_make "$d.build" APR-util libaprutil-1
  cp "$d.build/libaprutil-1.dll" "$pfx/bin/"; cp "$d.build"/*.dll.a "$pfx/lib/"
  cp "$d"/include/*.h "$d.build"/*.h "$pfx/include/"
  say "building httpd (libhttpd.dll, httpd.exe, ${#HTTPD_MODULES[@]} modules) for mingw"
  d=$(unpack apache2)
  "$ROOT/win/patch-httpd.sh" "$d"
  apr_libs="$pfx/lib/liblibapr-1.dll.a;$pfx/lib/liblibaprutil-1.dll.a"
  cmake_cross "$d" "$d.build" "$pfx" -DAPR_INCLUDE_DIR="$pfx/include" -DAPR_LIBRARIES="$apr_libs" \
      -DPCRE_INCLUDE_DIR="$spfx/include" -DPCRE_LIBRARIES="$spfx/lib/libpcre2-8.a" \
      "-DPCRE_CFLAGS=-DHAVE_PCRE2 -DPCRE2_STATIC" -DINSTALL_PDB=OFF
  cmake_make "$d.build" httpd httpd "${HTTPD_MODULES[@]}"
  cp "$d.build/httpd.exe" "$d.build/libhttpd.dll" "$pfx/bin/"
  cp "$d.build"/*.dll.a "$pfx/lib/"
  for s in "${HTTPD_MODULES[@]}"; do cp "$d.build/$s.so" "$pfx/modules/"; done
  # libhttpd.dll needs mingw's libgcc DLL beside it
  cp "$(x86_64-w64-mingw32-gcc -print-file-name=libgcc_s_seh-1.dll)" "$pfx/bin/"
  cp "$d"/include/*.h "$d/os/win32/os.h" "$d.build/ap_config_layout.h" "$d/modules/proxy/mod_proxy.h" \
     "$d/modules/generators/mod_status.h" "$d/modules/loggers/mod_log_config.h" "$pfx/include/"
  cp "$d/docs/conf/mime.types" "$pfx/conf/"
  echo "$1" > "$pfx/.key"
}
