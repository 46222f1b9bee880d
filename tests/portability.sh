#!/usr/bin/env bash
# Portability rules the Linux build cannot catch, for the module and core
# sources (the CLIs gramex_config.c and gramex_secrets.c are not modules):
#  1. a POSIX-only header is included only under an APR_HAVE_* or WIN32 guard;
#  2. the core (gx_*.c, no httpd headers) calls no strcasecmp/strncasecmp,
#     which MSVC lacks (httpd's os.h maps them for the glue only);
#  3. no file path is tested by its first character (gx_path.h has the one form).
# Ends with "N passed, M failed" as the unit tests do; one check per file and rule.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0 failed=0

check() {   # check RULE FILE OFFENDING-LINES
  if [ -z "$3" ]; then passed=$((passed + 1)); return; fi
  failed=$((failed + 1))
  printf 'FAIL %s: %s\n%s\n' "$1" "$2" "$3"
}

posix_headers='unistd|fcntl|strings|pthread|dirent|pwd|grp|poll|termios|dlfcn|sys/[a-z_]+|netinet/[a-z_]+|arpa/[a-z_]+'
sources=$(ls mod_gramex/*.[ch] mod_gramex_secrets/*.[ch] mod_gramex_ws/*.[ch] | grep -v -E '/gramex_(config|secrets)\.c$')

for f in $sources; do
  # an include of a POSIX header whose nearest enclosing #if does not name APR_HAVE_ or WIN32
  bad=$(awk -v re="^#[ \t]*include[ \t]*<($posix_headers)\\.h>" '
        /^#[ \t]*if/ { stack[++n] = $0 }
        /^#[ \t]*endif/ { n-- }
        $0 ~ re && !(n > 0 && stack[n] ~ /APR_HAVE_|WIN32/) { print FILENAME ":" FNR ": " $0 }' "$f")
  check "POSIX-only header without an APR_HAVE_/WIN32 guard" "$f" "$bad"
done

for f in $(ls mod_gramex/gx_*.c mod_gramex_secrets/gx_*.c); do
  bad=$(grep -n -E '\bstrn?casecmp\(' "$f" | sed "s|^|$f:|")
  check "strcasecmp/strncasecmp in the core (use apr_cstr_casecmp[n])" "$f" "$bad"
done

for f in $sources; do
  bad=$(grep -n -E '\b(path|file|dir|filename|src|root)\[0\] *[!=]= *'"'"'[/\\]'"'" "$f" | sed "s|^|$f:|")
  check "a file path tested by its first character (use gx_path_is_absolute, gx_path_root_len)" "$f" "$bad"
done

echo "tests/portability.sh: $passed passed, $failed failed"
[ "$failed" = 0 ]
