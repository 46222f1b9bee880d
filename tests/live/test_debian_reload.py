"""No reload takes Apache down because of an app. A raw graceful restart
(SIGUSR1 to the parent, as `apache2 -k graceful` and logrotate send, with no
config test first) with a broken gramex.yaml, or a SECRETS_URL that stopped
answering, keeps the last good app serving, under a steady client load; the
log and the status page say why; `apache2 -t` still fails on the file."""
import subprocess
import threading
import time

import requests

from gxhttpd import BUILD, PAGE_APP as GOOD, STATUS_PAGE as STATUS
from gxbackends import BlobServer

BROKEN = GOOD + '  page:\n    pattern: dup\n'     # duplicate key: line 7


class Load:
    """One client in a loop: every answer must be 200 with the expected body."""

    def __init__(self, url, body):
        self.url, self.body = url, body
        self.ok = 0
        self.failures = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        # a new connection per request: a graceful restart closes idle keep-alive
        # connections, which clients retry (httpd's documented behaviour); a
        # failure here is a request that was really refused or dropped
        while not self.stop.is_set():
            try:
                r = requests.get(self.url, timeout=10, headers={'Connection': 'close'})
                if r.status_code == 200 and r.text == self.body:
                    self.ok += 1
                else:
                    self.failures.append(f'{r.status_code} {r.text[:80]!r}')
            except requests.RequestException as e:
                self.failures.append(repr(e))

    def finish(self):
        time.sleep(0.3)
        self.stop.set()
        self.thread.join(15)
        return self


def test_broken_yaml_on_raw_graceful_keeps_last_good_app(httpd, app_dir):
    app = app_dir({'gramex.yaml': GOOD, 'page.html': 'v1\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\n' + STATUS).start()
    load = Load(f'{h.url}/page', 'v1\n')
    time.sleep(0.3)
    (app / 'gramex.yaml').write_text(BROKEN)
    h.signal_graceful()
    h.signal_graceful()             # and again: the kept config survives generations
    load.finish()
    assert h.alive()
    assert load.failures == [] and load.ok > 0, load.failures[:5]
    log = h.error_log()
    assert (f'GX0004: main server 127.0.0.1: the restart could not load {app}/gramex.yaml: '
            f'{app}/gramex.yaml:7: found duplicate key (page)') in log
    assert 'Still serving the app loaded before (fix the file and reload)' in log
    status = requests.get(f'{h.url}/gramex-status?json').json()['apps'][0]
    assert status['reload_error'].startswith(f'{app}/gramex.yaml:7: found duplicate key (page)')
    assert status['loaded_at'] is not None
    assert 'The last restart could not load the app' in requests.get(f'{h.url}/gramex-status').text
    # apachectl -t (and so `apachectl graceful`) still refuses the file
    rc, out = h.check()
    assert rc != 0 and f'{app}/gramex.yaml:7' in out
    # fixed: the next graceful loads the new app and the error is gone
    (app / 'page.html').write_text('v2\n')
    (app / 'gramex.yaml').write_text(GOOD)
    h.signal_graceful()
    assert requests.get(f'{h.url}/page').text == 'v2\n'
    assert requests.get(f'{h.url}/gramex-status?json').json()['apps'][0]['reload_error'] is None


def test_new_broken_vhost_on_raw_graceful_is_closed_others_serve(httpd, app_dir):
    good = app_dir({'gramex.yaml': GOOD, 'page.html': 'good\n'})
    bad = app_dir({'gramex.yaml': BROKEN, 'page.html': 'never\n', 'gramex.yaml.bak': ''})
    h = httpd('')
    vhosts = f"""
<VirtualHost 127.0.0.1:{h.port}>
  ServerName good.test
  GramexConfig "{good}/gramex.yaml"
</VirtualHost>
"""
    h.write(vhosts)
    h.start()
    # the admin adds a vhost whose app is broken and sends a raw graceful
    h.write(vhosts + f"""
<VirtualHost 127.0.0.1:{h.port}>
  ServerName bad.test
  DocumentRoot "{bad}"
  <Directory "{bad}">
    Require all granted
  </Directory>
  GramexConfig "{bad}/gramex.yaml"
</VirtualHost>
""")
    h.signal_graceful()
    assert h.alive()
    assert requests.get(f'{h.url}/page', headers={'Host': 'good.test'}).text == 'good\n'
    # nothing of the broken app, and not its DocumentRoot either (its gramex.yaml)
    for path in ['/page', '/gramex.yaml']:
        r = requests.get(f'{h.url}{path}', headers={'Host': 'bad.test'})
        assert r.status_code == 500 and 'never' not in r.text and 'dup' not in r.text
    assert 'Nothing of it is served: every request answers 500' in h.error_log()


def test_secrets_url_gone_without_cache_keeps_last_good_app(httpd, app_dir):
    enc = subprocess.run([str(BUILD / 'gramex-secrets'), 'encrypt', '--key', 'k3y'],
                         input='REMOTE_TOKEN: remote-tok-777\n', capture_output=True, text=True)
    server = BlobServer(enc.stdout)
    app = app_dir({
        'gramex.yaml': GOOD.replace('{path: $YAMLPATH/page.html}',
                                    '{path: $YAMLPATH/page.html, headers: {X-Remote: $REMOTE_TOKEN}}'),
        'page.html': 'v1\n',
        '.secrets.yaml': f'SECRETS_URL: http://127.0.0.1:{server.port}/blob\nSECRETS_KEY: k3y\n',
    })
    try:
        h = httpd(f'GramexConfig "{app}/gramex.yaml"\n' + STATUS).start()
        assert requests.get(f'{h.url}/page').headers['X-Remote'] == 'remote-tok-777'
        load = Load(f'{h.url}/page', 'v1\n')
        server.stop()
        for cache in (h.dir / 'gramex-secrets').iterdir():
            cache.unlink()                      # and no cached copy to fall back on
        h.signal_graceful()
        load.finish()
        assert h.alive()
        assert load.failures == [] and load.ok > 0, load.failures[:5]
        assert requests.get(f'{h.url}/page').headers['X-Remote'] == 'remote-tok-777'
        assert 'GX0004' in h.error_log() and 'SECRETS_URL' in h.error_log()
        assert 'remote-tok-777' not in h.error_log()
    finally:
        server.stop() if server.server.fileno() != -1 else None


def test_apache2_k_graceful_refuses_broken_yaml_and_keeps_running(httpd, app_dir):
    """`apache2 -k graceful` reads the config in the signalling process first:
    a broken app stops the signal there, and the server keeps its app."""
    app = app_dir({'gramex.yaml': GOOD, 'page.html': 'v1\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\n').start()
    (app / 'gramex.yaml').write_text(BROKEN)
    out = subprocess.run(['/usr/sbin/apache2', '-f', str(h.conf), '-k', 'graceful'],
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert f'gramex: error: {app}/gramex.yaml:7: found duplicate key (page)' in out.stderr
    assert 'a running Apache keeps serving what it serves' in out.stderr
    assert h.alive() and requests.get(f'{h.url}/page').text == 'v1\n'
    assert h.error_log().count('resuming normal operations') == 1     # no restart happened


def test_kept_app_keeps_its_proxy_workers(httpd, app_dir, backends):
    """The kept app's ProxyHandler urls still preserve the Host header: their
    workers are defined from the kept config, not the unreadable file."""
    b = backends()
    yaml = ("url:\n  api:\n    pattern: /$YAMLURL/api/(.*)\n    handler: ProxyHandler\n"
            f"    kwargs: {{url: 'http://127.0.0.1:{b.port}/{{0}}'}}\n")
    app = app_dir({'gramex.yaml': yaml})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\n').start()
    host = f'127.0.0.1:{h.port}'
    assert requests.get(f'{h.url}/api/x').json()['headers']['Host'] == host
    (app / 'gramex.yaml').write_text(yaml + '  api:\n    pattern: dup\n')
    h.signal_graceful()
    assert 'GX0004' in h.error_log()
    assert requests.get(f'{h.url}/api/x').json()['headers']['Host'] == host
