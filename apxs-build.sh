#!/usr/bin/env bash
# mod_gramex: set up, build, test, install, run and benchmark.
#   ./apxs-build.sh run [APP_DIR] [--port N]   serve an app (default: demo/) on 127.0.0.1:9988
#   ./apxs-build.sh test                       build with -Werror, run unit + live tests
#   ./apxs-build.sh deps | build | install | bench
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
             proxy_balancer slotmem_shm lbmethod_byrequests status; do
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

install_all() {
  build
  local libexec
  libexec=$(apxs -q LIBEXECDIR)
  say "installing modules into $libexec, conf into /etc/apache2/mods-available"
  install -m 644 "$BUILD/mod_gramex.so" "$libexec/"
  install -m 644 "$ROOT/conf/gramex.load" "$ROOT/conf/gramex.conf" /etc/apache2/mods-available/
  if [ -f "$BUILD/mod_gramex_secrets.so" ]; then
    install -m 644 "$BUILD/mod_gramex_secrets.so" "$libexec/"
    install -m 644 "$ROOT/conf/gramex_secrets.load" /etc/apache2/mods-available/
  fi
  if [ -f "$BUILD/mod_gramex_ws.so" ]; then
    install -m 644 "$BUILD/mod_gramex_ws.so" "$libexec/"
    install -m 644 "$ROOT/conf/gramex_ws.load" /etc/apache2/mods-available/
  fi
  install -m 644 "$ROOT/conf/gramex-websockets.conf" /etc/apache2/conf-available/
  install -d "$GRAMEXPATH_INSTALL"
  install -m 644 "$ROOT/conf/gramex.yaml" "$ROOT/conf/deploy.yaml" "$GRAMEXPATH_INSTALL/"
  install -m 755 "$BUILD/gramex-config" /usr/local/bin/
  [ -f "$BUILD/gramex-secrets" ] && install -m 755 "$BUILD/gramex-secrets" /usr/local/bin/
  say "done: a2enmod gramex && apachectl -t && apachectl graceful"
  say "WebSockets: a2enconf gramex-websockets (event MPM sized for 1,000+; docs/proxy.md)"
}

test_all() {
  deps "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}"
  build
  "$ROOT/tests/run_tests.sh"
}

bench() {
  deps "${BUILD_PKGS[@]}" "${BENCH_PKGS[@]}"
  build
  /usr/bin/python3 "$ROOT/bench/bench.py" "$@"
}

cmd="${1:-help}"
[ $# -gt 0 ] && shift
case "$cmd" in
  deps) deps "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" ;;
  build) build ;;
  install) install_all ;;
  test) test_all ;;
  run) run "$@" ;;
  bench) bench "$@" ;;
  *) sed -n '2,6p' "$0"; [ "$cmd" = help ] || exit 2 ;;
esac
