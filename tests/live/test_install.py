"""`./apxs-build.sh install` as a Debian admin runs it: `a2enmod gramex`, the
documented `ln -s /srv/APP/gramex.yaml sites-available/SITE.gramex.yaml`,
`apachectl -t` and a request.

By default this installs into a private copy of /etc/apache2
(`install --root`, debian_tree.py), so `./apxs-build.sh test` never touches
the host's Apache. GRAMEX_TEST_INSTALL=1 (as root) also tests the real
install into /usr/lib/apache2/modules and /etc/apache2/mods-available, run
through a second Debian instance (/etc/apache2-gxtest) on a loopback port."""
import os
import shutil
import time
from pathlib import Path

import pytest
import requests

from debian_tree import DebianTree, sh
from gxhttpd import REPO, apxs_run, free_port, readable_tmpdir, write_tree

APP = ('import: $GRAMEXPATH/deploy.yaml\n'
       'url:\n  hello:\n    pattern: /$YAMLURL/(.*)\n    handler: FileHandler\n'
       '    kwargs: {path: $YAMLPATH/}\n')


def test_install_into_private_tree_and_serve(app_dir):
    app = app_dir({'gramex.yaml': APP, 'hello.html': '<p>installed</p>\n', 'secret.yaml': 'x: 1\n'})
    t = DebianTree()
    try:
        out = t.install()
        assert f'installing modules into {t.root}/usr/lib/apache2/modules' in out.stderr
        load = (t.conf / 'mods-available' / 'gramex.load').read_text()
        assert f'LoadModule gramex_module {t.root}/usr/lib/apache2/modules/mod_gramex.so' in load
        assert '# Depends: proxy proxy_http headers deflate' in load
        t.a2('a2enmod', 'gramex', 'gramex_secrets')
        for dep in ['proxy', 'proxy_http', 'headers', 'deflate', 'gramex']:
            assert (t.conf / 'mods-enabled' / f'{dep}.load').exists(), dep
        # the SECRETS_URL cache survives reboots: /var/cache, not the module's /run default
        secrets_conf = (t.conf / 'mods-enabled' / 'gramex_secrets.conf').read_text()
        assert f'  GramexSecretsCacheDir {t.root}/var/cache/apache2/gramex-secrets\n' in secrets_conf
        t.vhost('gxapp')
        (t.conf / 'sites-available' / 'gxapp.gramex.yaml').symlink_to(app / 'gramex.yaml')
        t.start()
        r = requests.get(f'{t.url}/hello.html', headers={'Host': 'gxapp.test'})
        assert r.status_code == 200 and r.text == '<p>installed</p>\n'
        assert r.headers['X-Content-Type-Options'] == 'nosniff'     # from deploy.yaml
        assert requests.get(f'{t.url}/secret.yaml', headers={'Host': 'gxapp.test'}).status_code == 403
        assert f'app {app}/gramex.yaml (found ' in t.error_log()
    finally:
        t.cleanup()


CONFDIR = Path('/etc/apache2-gxtest')
LOGDIR = Path('/var/log/apache2-gxtest')


@pytest.mark.skipif(os.environ.get('GRAMEX_TEST_INSTALL') != '1' or os.geteuid() != 0,
                    reason='installs into the system Apache: set GRAMEX_TEST_INSTALL=1, as root')
def test_system_install_a2enmod_and_linked_app():
    sh(str(REPO / 'apxs-build.sh'), 'install')      # the real, system-wide install
    shutil.rmtree(CONFDIR, ignore_errors=True)
    shutil.copytree('/etc/apache2', CONFDIR, symlinks=True)
    port = free_port()
    (CONFDIR / 'ports.conf').write_text(f'Listen 127.0.0.1:{port}\n')
    for site in (CONFDIR / 'sites-enabled').iterdir():
        site.unlink()
    LOGDIR.mkdir(exist_ok=True)
    env = dict(os.environ, APACHE_CONFDIR=str(CONFDIR))
    app = readable_tmpdir('gxtest-install-')
    try:
        write_tree(app, {'gramex.yaml': APP, 'hello.html': '<p>installed</p>\n'})
        (CONFDIR / 'sites-available' / 'gxapp.conf').write_text(
            f'<VirtualHost 127.0.0.1:{port}>\n  ServerName localhost\n</VirtualHost>\n')
        (CONFDIR / 'sites-available' / 'gxapp.gramex.yaml').symlink_to(app / 'gramex.yaml')
        sh('a2enmod', 'gramex', env=env)
        sh('a2ensite', 'gxapp', env=env)
        test = sh('apache2ctl', '-t', env=env, check=False)
        assert test.returncode == 0, test.stderr
        sh('apache2ctl', 'start', env=env)
        end = time.time() + 10
        while True:
            try:
                r = requests.get(f'http://127.0.0.1:{port}/hello.html', timeout=2)
                break
            except requests.ConnectionError:
                assert time.time() < end, 'installed Apache did not answer'
                time.sleep(0.1)
        assert r.status_code == 200 and r.text == '<p>installed</p>\n'
    finally:
        sh('apache2ctl', 'stop', env=env, check=False)
        pidfile = Path('/var/run/apache2-gxtest/apache2.pid')
        end = time.time() + 10
        while pidfile.exists() and time.time() < end:
            time.sleep(0.1)
        shutil.rmtree(CONFDIR, ignore_errors=True)
        shutil.rmtree(LOGDIR, ignore_errors=True)
        shutil.rmtree(app, ignore_errors=True)


def test_run_brings_mod_ssl_for_https_proxy_targets(app_dir):
    """`./apxs-build.sh run APP` on an app with an https:// ProxyHandler target:
    mod_ssl and SSLProxyEngine are in run's config, so the app is not refused."""
    app = app_dir({'index.html': 'hi\n', 'gramex.yaml': (
        "url:\n  ext:\n    pattern: /$YAMLURL/ext/(.*)\n    handler: ProxyHandler\n"
        "    kwargs: {url: 'https://127.0.0.1:9/{0}'}\n"
        "  page:\n    pattern: /$YAMLURL/\n    handler: FileHandler\n"
        "    kwargs: {path: $YAMLPATH/index.html}\n")})
    with apxs_run(app) as port:
        r = requests.get(f'http://127.0.0.1:{port}/', timeout=10)
        assert (r.status_code, r.text) == (200, 'hi\n')
        # the TLS backend is down: mod_proxy answers, the url is not refused at config time
        assert requests.get(f'http://127.0.0.1:{port}/ext/x').status_code in (502, 503)
