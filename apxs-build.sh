#!/usr/bin/env bash
# mod_gramex: set up, build, test, install, run and benchmark.
#   ./apxs-build.sh run [APP_DIR] [--port N]   serve an app (default: demo/) on 127.0.0.1:9988
#   ./apxs-build.sh test                       build with -Werror, run unit + live tests
#                                              (never touches the system Apache unless
#                                              GRAMEX_TEST_INSTALL=1)
#   ./apxs-build.sh install [--root DIR]       into the system Apache (or a private tree)
#   ./apxs-build.sh uninstall [--root DIR]     a2dismod and remove every installed file
#   ./apxs-build.sh fuzz [SECONDS] [TARGET...] libFuzzer targets (clang, ASan+UBSan), 20 s each
#   ./apxs-build.sh deps | build | bench
#   ./apxs-build.sh wintest                    cross-build for Windows, unit tests under Wine
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$ROOT/build"
PORT=9988
GRAMEXPATH_INSTALL=/usr/share/apache2/gramex

BUILD_PKGS=(gcc make pkg-config apache2 apache2-dev libyaml-dev libpcre2-dev libssl-dev
            libcurl4-openssl-dev)
TEST_PKGS=(python3 python3-pytest python3-requests python3-websockets python3-tornado
           python3-yaml curl)
BENCH_PKGS=(wrk nginx-light)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'apxs-build.sh: %s\n' "$*" >&2; exit 1; }

missing_pkgs() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

# Install what is missing: apt-get as root, else print the exact command.
deps() {
  local want=("$@") missing
  missing=$(missing_pkgs "${want[@]}")
  [ -z "$missing" ] && return 0
  # shellcheck disable=SC2086
  if [ "$(id -u)" != 0 ]; then
    die "missing packages; run: sudo apt-get install -y $(echo $missing)"
  fi
  say "installing: $(echo $missing)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq $missing >/dev/null
}

build() {
  deps "${BUILD_PKGS[@]}"
  say "building (warnings are errors)"
  make -C "$ROOT" -s -j2 core cli unit modules
}

# The private Apache config `run` uses: our modules, Debian's, logs under build/run.
write_run_conf() {
  local app_dir="$1" port="$2" dir="$BUILD/run" mods=/usr/lib/apache2/modules m
  mkdir -p "$dir"
  {
    for m in mpm_event authz_core authz_host mime headers deflate filter proxy proxy_http proxy_wstunnel \
             proxy_balancer slotmem_shm lbmethod_byrequests status socache_shmcb ssl; do
      echo "LoadModule ${m}_module $mods/mod_${m}.so"
    done
    echo "LoadModule gramex_module $BUILD/mod_gramex.so"
    [ -f "$BUILD/mod_gramex_secrets.so" ] && echo "LoadModule gramex_secrets_module $BUILD/mod_gramex_secrets.so"
    [ -f "$BUILD/mod_gramex_ws.so" ] && echo "LoadModule gramex_ws_module $BUILD/mod_gramex_ws.so"
    cat <<EOF
ServerRoot "$dir"
Listen 127.0.0.1:$port
ServerName 127.0.0.1
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error.log"
DefaultRuntimeDir "$dir"
Mutex file:$dir default
User www-data
Group www-data
TypesConfig /etc/mime.types
LogLevel warn
Include "$ROOT/conf/gramex-websockets.conf"
# https:// ProxyHandler targets and upstreams: TLS to the backend
SSLProxyEngine On
<Directory />
  Require all denied
  AllowOverride None
</Directory>
<Location /gramex-status>
  SetHandler gramex-status
  Require local
</Location>
GramexPath "$ROOT/conf"
GramexConfig "$app_dir/gramex.yaml"
EOF
  } > "$dir/httpd.conf"
  echo "$dir/httpd.conf"
}

run() {
  local app_dir="$ROOT/demo" conf
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) PORT="$2"; shift 2 ;;
      --port=*) PORT="${1#--port=}"; shift ;;
      -*) die "unknown option $1" ;;
      *) app_dir="$(cd "$1" && pwd)"; shift ;;
    esac
  done
  [ -f "$app_dir/gramex.yaml" ] || die "$app_dir has no gramex.yaml"
  build
  if ! su -s /bin/sh www-data -c "test -r '$app_dir/gramex.yaml'" 2>/dev/null; then
    say "warning: www-data cannot read $app_dir; Apache's children will answer 403"
  fi
  conf=$(write_run_conf "$app_dir" "$PORT")
  /usr/sbin/apache2 -t -f "$conf"
  say "serving $app_dir at http://127.0.0.1:$PORT/  (status: /gramex-status; Ctrl+C stops)"
  exec /usr/sbin/apache2 -f "$conf" -DFOREGROUND
}

# Where install puts things. --root DIR installs into a private tree laid out
# like the system (DIR/etc/apache2, DIR/usr/lib/apache2/modules, ...) with the
# paths in the .load/.conf files rewritten to match: the tests use that, so
# they never touch the host's Apache.
set_dest() {
  DEST_ROOT="${1:-}"
  if [ -n "$DEST_ROOT" ]; then
    DEST_ROOT="$(mkdir -p "$DEST_ROOT" && cd "$DEST_ROOT" && pwd)"
    MODDIR="$DEST_ROOT/usr/lib/apache2/modules"
  else
    MODDIR=$(apxs -q LIBEXECDIR 2>/dev/null || echo /usr/lib/apache2/modules)
  fi
  ETC="$DEST_ROOT/etc/apache2"
  GPATH="$DEST_ROOT$GRAMEXPATH_INSTALL"
  BINDIR="$DEST_ROOT/usr/local/bin"
}

# The modules, a2enmod files, deploy.yaml and CLIs, one per line:
# "SOURCE DESTINATION MODE" (SOURCE may be absent: optional modules).
installed_files() {
  local m
  echo "$BUILD/mod_gramex.so $MODDIR/mod_gramex.so 644"
  for m in gramex_secrets gramex_ws; do
    echo "$BUILD/mod_${m}.so $MODDIR/mod_${m}.so 644"
    echo "$ROOT/conf/${m}.load $ETC/mods-available/${m}.load 644"
  done
  echo "$ROOT/conf/gramex_secrets.conf $ETC/mods-available/gramex_secrets.conf 644"
  echo "$ROOT/conf/gramex.load $ETC/mods-available/gramex.load 644"
  echo "$ROOT/conf/gramex.conf $ETC/mods-available/gramex.conf 644"
  echo "$ROOT/conf/gramex-websockets.conf $ETC/conf-available/gramex-websockets.conf 644"
  echo "$ROOT/conf/gramex.yaml $GPATH/gramex.yaml 644"
  echo "$ROOT/conf/deploy.yaml $GPATH/deploy.yaml 644"
  echo "$BUILD/gramex-config $BINDIR/gramex-config 755"
  echo "$BUILD/gramex-secrets $BINDIR/gramex-secrets 755"
}

install_all() {
  set_dest "${1:-}"
  build
  say "installing modules into $MODDIR, a2enmod files into $ETC/mods-available"
  local src dst mode
  while read -r src dst mode; do
    case "$src" in *.so) [ -f "$src" ] || continue ;; esac
    [ -f "$src" ] || continue
    install -d "$(dirname "$dst")"
    if [ -n "$DEST_ROOT" ] && { [[ "$dst" == *.load ]] || [[ "$dst" == *.conf ]]; }; then
      sed -e "s#/usr/lib/apache2/modules/#$MODDIR/#" -e "s#$GRAMEXPATH_INSTALL#$GPATH#" \
          -e "s# /var/cache/apache2/# $DEST_ROOT/var/cache/apache2/#" "$src" > "$dst"
      chmod "$mode" "$dst"
    else
      install -m "$mode" "$src" "$dst"
    fi
  done < <(installed_files)
  say "done: a2enmod gramex && apachectl -t && apachectl graceful"
  say "an app: ln -s /srv/myapp/gramex.yaml $ETC/sites-available/SITE.gramex.yaml (docs/operation.md)"
  say "WebSockets: a2enconf gramex-websockets, then a full restart (not graceful): docs/operation.md"
}

# Undo install: disable, then remove every file install wrote. Sites keep
# working if their Gramex directives are inside <IfModule gramex_module>.
uninstall_all() {
  set_dest "${1:-}"
  local src dst mode m env=(env)
  [ -n "$DEST_ROOT" ] && env=(env APACHE_CONFDIR="$ETC")
  for m in gramex_ws gramex_secrets gramex; do
    if [ -e "$ETC/mods-enabled/$m.load" ]; then "${env[@]}" a2dismod -q -f "$m" >/dev/null; fi
  done
  if [ -e "$ETC/conf-enabled/gramex-websockets.conf" ]; then
    "${env[@]}" a2disconf -q gramex-websockets >/dev/null
  fi
  while read -r src dst mode; do
    if [ -e "$dst" ]; then rm -f "$dst"; say "removed $dst"; fi
  done < <(installed_files)
  rmdir "$GPATH" 2>/dev/null || true
  say "uninstalled; check: apachectl -t (GramexConfig outside <IfModule gramex_module> fails it)"
}

test_all() {
  deps "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}"
  build
  if [ "${GRAMEX_TEST_INSTALL:-0}" = 1 ]; then
    say "GRAMEX_TEST_INSTALL=1: the install test WILL install into the system Apache ($(apxs -q LIBEXECDIR), /etc/apache2)"
  else
    say "the system Apache is not touched (set GRAMEX_TEST_INSTALL=1 to test a real install)"
  fi
  "$ROOT/tests/run_tests.sh"
}

bench() {
  deps "${BUILD_PKGS[@]}" "${BENCH_PKGS[@]}"
  build
  /usr/bin/python3 "$ROOT/bench/bench.py" "$@"
}

# Cross-build for Windows (mingw-w64) and run the unit tests under Wine: win/wintest.sh.
wintest() { exec "$ROOT/win/wintest.sh" "$@"; }

cmd="${1:-help}"
[ $# -gt 0 ] && shift
case "$cmd" in
  deps) deps "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" ;;
  build) build ;;
  install|uninstall)
    root=""
    while [ $# -gt 0 ]; do
      case "$1" in
        --root) root="$2"; shift 2 ;;
        --root=*) root="${1#--root=}"; shift ;;
        *) die "unknown option $1 (install|uninstall [--root DIR])" ;;
      esac
    done
    if [ "$cmd" = install ]; then install_all "$root"; else uninstall_all "$root"; fi ;;
  test) test_all ;;
  run) run "$@" ;;
  bench) bench "$@" ;;
  wintest) wintest "$@" ;;
  fuzz) build; "$ROOT/tests/fuzz/run.sh" "$@" ;;
  *) sed -n '2,11p' "$0"; [ "$cmd" = help ] || exit 2 ;;
esac
