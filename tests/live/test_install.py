"""`./apxs-build.sh install` on stock Debian, then `a2enmod gramex`, a
gramex.yaml dropped beside a vhost config, `apachectl -t` and a request.

The system config is used through a second Debian instance
(/etc/apache2-gxtest, a copy of /etc/apache2 with ports.conf on loopback),
so the test never binds port 80 and leaves /etc/apache2 as it found it,
apart from the installed module and mods-available files."""
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from gxhttpd import REPO, free_port, readable_tmpdir, write_tree

CONFDIR = Path('/etc/apache2-gxtest')
LOGDIR = Path('/var/log/apache2-gxtest')

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='installing needs root')


def sh(*cmd, env=None, check=True):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check:
        assert out.returncode == 0, f'{cmd}: {out.stdout}{out.stderr}'
    return out


@pytest.fixture
def instance():
    sh(str(REPO / 'apxs-build.sh'), 'install')
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
        yield port, env, app
    finally:
        sh('apache2ctl', 'stop', env=env, check=False)
        pidfile = Path('/var/run/apache2-gxtest/apache2.pid')
        end = time.time() + 10
        while pidfile.exists() and time.time() < end:
            time.sleep(0.1)
        shutil.rmtree(CONFDIR, ignore_errors=True)
        shutil.rmtree(LOGDIR, ignore_errors=True)
        shutil.rmtree(app, ignore_errors=True)


def test_a2enmod_and_zero_config_vhost(instance):
    port, env, app = instance
    write_tree(app, {'hello.html': '<p>installed</p>\n', 'secret.yaml': 'x: 1\n',
                     'gramex.yaml': 'import: $GRAMEXPATH/deploy.yaml\n'
                     'url:\n  hello:\n    pattern: /$YAMLURL/(.*)\n    handler: FileHandler\n'
                     '    kwargs: {path: $YAMLPATH/}\n'})
    site = CONFDIR / 'sites-available' / 'gxapp.conf'
    site.write_text(f'<VirtualHost 127.0.0.1:{port}>\n  ServerName localhost\n</VirtualHost>\n')
    # linked, not copied: $YAMLPATH stays the app's own directory
    os.symlink(app / 'gramex.yaml', CONFDIR / 'sites-available' / 'gramex.yaml')
    sh('a2enmod', 'gramex', env=env)
    sh('a2ensite', 'gxapp', env=env)
    assert (CONFDIR / 'mods-enabled' / 'gramex.load').exists()
    assert (CONFDIR / 'mods-enabled' / 'proxy_http.load').exists()     # from # Depends:
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
    assert r.headers['X-Content-Type-Options'] == 'nosniff'
    assert requests.get(f'http://127.0.0.1:{port}/secret.yaml').status_code == 403
    assert 'found beside' in (LOGDIR / 'error.log').read_text()
