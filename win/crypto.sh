# Sourced by wintest.sh after third-party.sh: OpenSSL (libcrypto, libssl) and
# libcurl for 64-bit Windows with mingw-w64, static, into $CACHE/crypto, for
# mod_gramex_secrets, gramex-secrets.exe and test_secrets.exe.
# Kept apart from the other prefixes (own sources under $CACHE/crypto-src, own
# key from this file only) so that building them never rebuilds httpd.
# Sources are Debian's packages with Debian's patches applied (dpkg-source -x):
# curl's orig tarball lacks the security fixes Debian carries.
# Needs: ROOT, CACHE, TOOLCHAIN, say, die, private_apt, cmake_cross, cmake_make.

CRYPTO_SOURCES=(openssl curl)
CRYPTO_PREFIX="$CACHE/crypto"

fetch_crypto_sources() {
  local s missing=() src="$CACHE/crypto-src"
  mkdir -p "$src"
  for s in "${CRYPTO_SOURCES[@]}"; do
    ls "$src/${s}"_*.dsc >/dev/null 2>&1 || missing+=("$s")
  done
  [ ${#missing[@]} = 0 ] && return 0
  say "fetching Debian source packages: ${missing[*]}"
  private_apt update >/dev/null
  (cd "$src" && private_apt source --download-only "${missing[@]}" >/dev/null)
}

crypto_key() {
  { cat "$ROOT/win/crypto.sh" "$TOOLCHAIN"; ls "$CACHE/crypto-src"/*.dsc; } | sha256sum | cut -c1-16
}

# unpack_debian NAME: Debian's patched tree under $CACHE/work, echoed.
unpack_debian() {
  local dsc dir
  dsc=$(ls "$CACHE/crypto-src/$1"_*.dsc | head -n 1)
  dir="$CACHE/work/$1-debian"
  rm -rf "$dir" "$dir.build"
  mkdir -p "$CACHE/work"
  dpkg-source --no-check -q -x "$dsc" "$dir" >/dev/null || die "unpacking $dsc failed"
  echo "$dir"
}

crypto_prefix() {
  local d pfx="$CRYPTO_PREFIX" key
  key=$(crypto_key)
  [ "$(cat "$pfx/.key" 2>/dev/null)" = "$key" ] && { say "crypto prefix cached: $pfx"; return 0; }
  rm -rf "$pfx"; mkdir -p "$pfx"
  say "building OpenSSL (static libcrypto, libssl) for mingw"
  d=$(unpack_debian openssl)
  # no-asm: plain C, no assembler dialect to get right; speed does not matter here.
  (cd "$d" && ./Configure mingw64 --cross-compile-prefix=x86_64-w64-mingw32- --prefix="$pfx" \
        --libdir=lib no-shared no-asm no-tests no-engine no-legacy no-comp no-dso \
        >"$d.log" 2>&1 && make -j2 build_libs >>"$d.log" 2>&1 && make install_dev >>"$d.log" 2>&1) \
      || { tail -n 30 "$d.log"; die "the OpenSSL build failed ($d.log)"; }
  say "building libcurl (static, HTTP(S) only, OpenSSL) for mingw"
  d=$(unpack_debian curl)
  cmake_cross "$d" "$d.build" "$pfx" -DBUILD_SHARED_LIBS=OFF -DBUILD_CURL_EXE=OFF -DBUILD_TESTING=OFF \
      -DCURL_USE_OPENSSL=ON -DOPENSSL_ROOT_DIR="$pfx" -DOPENSSL_USE_STATIC_LIBS=ON -DHTTP_ONLY=ON \
      -DCURL_USE_LIBSSH2=OFF -DUSE_LIBIDN2=OFF -DCURL_ZLIB=OFF -DCURL_BROTLI=OFF -DCURL_ZSTD=OFF \
      -DUSE_NGHTTP2=OFF -DENABLE_UNIX_SOCKETS=OFF -DCURL_DISABLE_LDAP=ON -DENABLE_MANUAL=OFF
  cmake_make "$d.build" libcurl
  echo "$key" > "$pfx/.key"
}

# What our CMakeLists.txt needs to find them (static OpenSSL, curl's own
# package config, which carries CURL_STATICLIB and its libraries).
crypto_cmake_args() {
  echo "-DOPENSSL_ROOT_DIR=$CRYPTO_PREFIX -DOPENSSL_USE_STATIC_LIBS=ON -DCURL_DIR=$CRYPTO_PREFIX/lib/cmake/CURL"
}
