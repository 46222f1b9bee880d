#!/usr/bin/env bash
# Edits APR's Windows build (written for MSVC) so mingw-w64 builds the static
# library. Run on a freshly unpacked tree: wintest.sh unpacks, then calls this.
#   patch-apr.sh APR_SOURCE_DIR
set -euo pipefail
cd "$1"
# the build runs gen_test_char itself: name the target so CMake's emulator (Wine) runs it
sed -i 's|COMMAND \$<TARGET_FILE:gen_test_char>|COMMAND gen_test_char|' CMakeLists.txt
# mingw's accctrl.h needs the real wtypes.h, not APR's stand-in guard
sed -i 's|^#ifdef __wtypes_h__$|#if defined(__wtypes_h__) \|\| defined(__MINGW32__)|' \
    include/arch/win32/apr_private.h
# NOUSER hides types (LPMSG) that mingw's ole2.h needs
sed -i 's|^#ifndef NOUSER$|#if !defined(NOUSER) \&\& !defined(__MINGW32__)|' include/apr.hwc
# if_nametoindex and friends: mingw has iphlpapi too (lower-case file name on Linux)
grep -rl 'defined(HAVE_IF_INDEXTONAME) && defined(_MSC_VER)' --include='*.[ch]' . | while read -r f; do
  sed -i 's|defined(HAVE_IF_INDEXTONAME) && defined(_MSC_VER)|defined(HAVE_IF_INDEXTONAME) \&\& (defined(_MSC_VER) \|\| defined(__MINGW32__))|; s|<Iphlpapi.h>|<iphlpapi.h>|' "$f"
done
# mingw's string.h has strcasecmp and strncasecmp: do not redefine them
for f in STRCASECMP STRNCASECMP; do
  sed -i "s|^#define APR_HAVE_$f *0\$|#ifdef __MINGW32__\n#define APR_HAVE_$f 1\n#else\n#define APR_HAVE_$f 0\n#endif|" include/apr.hwc
done
# Windows has 64-bit Interlocked atomics: without its own arch header the unix
# one is found, which asks for the generic (mutex) 64-bit fallback not built here
cat > include/arch/win32/apr_arch_atomic.h <<'H'
#ifndef ATOMIC_H
#define ATOMIC_H
#include "apr.h"
#include "apr_pools.h"
#include "apr_private.h"
#include "apr_atomic.h"
#endif
H
