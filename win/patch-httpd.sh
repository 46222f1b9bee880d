#!/usr/bin/env bash
# Edits httpd's Windows build (written for MSVC) so mingw-w64 builds
# libhttpd.dll, httpd.exe and the modules with Apache Lounge's file names.
#   patch-httpd.sh HTTPD_SOURCE_DIR
set -euo pipefail
cd "$1"
# windres cannot preprocess httpd.rc (version resource only): drop it
sed -i 's| build/win32/httpd.rc)|)|' CMakeLists.txt
# /base: is an MSVC linker flag; the prefix "" keeps Apache Lounge's names
# (libhttpd.dll, mod_proxy.so) where mingw would add "lib"
sed -i 's|LINK_FLAGS /base:.*|PREFIX ""|' CMakeLists.txt
# the build runs gen_test_char itself: name the target so CMake's emulator (Wine) runs it
sed -i 's|COMMAND \$<TARGET_FILE:gen_test_char>|COMMAND gen_test_char|' CMakeLists.txt
# ap_config.h includes the autoconf header under mingw; os/win32 has the settings
echo '/* mingw: no autoconf; os/win32/os.h has the Windows settings */' > include/ap_config_auto.h
# service.c hides winuser.h from windows.h to include it itself later; mingw's
# headers (ole2.h via APR) need it at once, and then it must not come twice
sed -i 's|^#define _WINUSER_$|#ifndef __MINGW32__\n#define _WINUSER_\n#endif|; s|^#include <winuser.h>$|#ifndef __MINGW32__\n#include <winuser.h>\n#endif|' \
    server/mpm/winnt/service.c
[ "$(grep -c '__MINGW32__' server/mpm/winnt/service.c)" -ge 2 ] && [ "$(grep -c 'PREFIX ""' CMakeLists.txt)" -ge 2 ] \
    || { echo "patch-httpd.sh: httpd's sources changed; update this script" >&2; exit 1; }
