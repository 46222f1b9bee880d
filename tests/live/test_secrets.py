"""Secrets end to end: blobs made at test time by Debian's python3-tornado
with the call Gramex's secrets tool uses, read by gramex-secrets; and
mod_gramex_secrets in a real httpd (values used, never served or logged)."""
import hashlib
import json
import os
import subprocess
import time

import pytest
import requests
import tornado.web
import yaml

from gxbackends import BlobServer
from gxhttpd import BUILD, raw_get

SECRETS = {'DB_PASSWORD': 'hunter2-very-secret', 'API': 'tok-98765', 'N': 1}


def tornado_blob(key, payload, version=2, clock=None):
    kw = {'version': version}
    if clock:
        kw['clock'] = lambda: clock
    return tornado.web.create_signed_value(key, '', json.dumps(payload), **kw).decode()


def decrypt(tmp_path, key, text, show=True):
    f = tmp_path / 'blob.txt'
    f.write_text(text)
    args = [str(BUILD / 'gramex-secrets'), 'decrypt', '--key', key, str(f)] + (['--show'] if show else [])
    return subprocess.run(args, capture_output=True, text=True)


@pytest.mark.parametrize('version', [1, 2])
def test_tornado_blobs_verify(tmp_path, version):
    out = decrypt(tmp_path, 'k3y', '# comment\n' + tornado_blob('k3y', SECRETS, version) + '\n')
    assert out.returncode == 0, out.stderr
    assert 'signed only' in out.stderr
    assert yaml.safe_load(out.stdout) == SECRETS


@pytest.mark.parametrize('case', ['tampered', 'truncated', 'wrong-key', 'bad-timestamp-v1', 'future-v1',
                                  'list-payload', 'huge', 'not-a-string'])
def test_bad_blobs_refused(tmp_path, case):
    blob = tornado_blob('k3y', SECRETS)
    key = 'k3y'
    if case == 'tampered':
        blob = blob[:30] + ('A' if blob[30] != 'A' else 'B') + blob[31:]
    elif case == 'truncated':
        blob = blob[:len(blob) // 2]
    elif case == 'wrong-key':
        key = 'other'
    elif case == 'bad-timestamp-v1':
        # nothing signed since 1970 is older than Gramex's 1,000,000 days; tornado
        # refuses a timestamp with a leading zero before it checks ages
        blob = tornado_blob('k3y', SECRETS, 1, clock=1.0).replace('|1|', '|01|')
    elif case == 'future-v1':
        blob = tornado_blob('k3y', SECRETS, 1, clock=time.time() + 40 * 86400)
    elif case == 'list-payload':
        blob = tornado_blob('k3y', [1, 2])
    elif case == 'huge':
        blob = tornado_blob('k3y', {'X': 'y' * (2 * 1024 * 1024)})
    elif case == 'not-a-string':
        blob = 'a: 1\n'
    out = decrypt(tmp_path, key, blob)
    assert out.returncode == 1, out.stdout
    assert 'gramex-secrets:' in out.stderr
    assert 'hunter2' not in out.stderr + out.stdout


def test_decrypt_names_a_file_as_written(tmp_path):
    """A FILE is a file name, relative to the current directory, even with
    characters a URL gives meaning to; the message shows it as written."""
    name = 'odd %41?#.txt'
    (tmp_path / name).write_text(tornado_blob('k3y', SECRETS))
    args = [str(BUILD / 'gramex-secrets'), 'decrypt', '--key', 'k3y', name, '--show']
    out = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert yaml.safe_load(out.stdout) == SECRETS
    assert out.stderr == f'{name}: signed only (readable by anyone with the URL), 3 keys\n'


def test_encrypted_blob(tmp_path):
    enc = subprocess.run([str(BUILD / 'gramex-secrets'), 'encrypt', '--key', 'k3y'],
                         input=json.dumps(SECRETS), capture_output=True, text=True)
    assert enc.returncode == 0 and enc.stdout.startswith('gxs2.15.8.1.')
    assert 'hunter2' not in enc.stdout and 'DB_PASSWORD' not in enc.stdout
    out = decrypt(tmp_path, 'k3y', enc.stdout)
    assert out.returncode == 0 and 'encrypted' in out.stderr
    assert yaml.safe_load(out.stdout) == SECRETS
    assert decrypt(tmp_path, 'k3y', enc.stdout, show=False).stdout.split() == list(SECRETS)
    assert decrypt(tmp_path, 'wrong', enc.stdout).returncode == 1


def test_gramex_format_is_what_tornado_reads(tmp_path):
    enc = subprocess.run([str(BUILD / 'gramex-secrets'), 'encrypt', '--key', 'k3y', '--format',
                          'gramex'], input='A: 1\nB: two\n', capture_output=True, text=True)
    value = tornado.web.decode_signed_value('k3y', '', enc.stdout.strip(), max_age_days=1000000)
    assert json.loads(value) == {'A': 1, 'B': 'two'}


def test_export_round_trips(tmp_path):
    tricky = {'S_QUOTES': 'a "b" \'c\'', 'S_COLON': 'x: y # z', 'S_NL': 'line1\nline2',
              'S_UNI': 'héllo ☃', 'S_NUM': '1', 'S_BOOL': 'yes', 'S_EMPTY': '', 'GOOGLE_A': 'g1'}
    env = dict(os.environ, **tricky)
    out = subprocess.run([str(BUILD / 'gramex-secrets'), 'export', 'S_*', 'GOOGLE*', 'S_NUM=2',
                          'LIT=x=y'], capture_output=True, text=True, env=env)
    got = yaml.safe_load(out.stdout)
    want = dict(tricky, S_NUM='2', LIT='x=y')
    assert got == want


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


# ---- in httpd -----------------------------------------------------------------

APP_YAML = """
import: $GRAMEXPATH/deploy.yaml
url:
  page:
    pattern: /$YAMLURL/(.*)
    handler: FileHandler
    kwargs:
      path: $YAMLPATH/
      allow: ["*.yaml", "*.html", "*.cache"]
      headers:
        X-Db: $DB_PASSWORD
        X-Remote: $REMOTE_TOKEN
"""


@pytest.fixture
def secret_app(httpd, app_dir):
    enc = subprocess.run([str(BUILD / 'gramex-secrets'), 'encrypt', '--key', 'k3y'],
                         input='REMOTE_TOKEN: remote-tok-777\n', capture_output=True, text=True)
    server = BlobServer('# remote secrets\n' + enc.stdout)
    app = app_dir({
        'gramex.yaml': APP_YAML,
        'index.html': 'hi\n',
        '.secrets.yaml': f'DB_PASSWORD: hunter2-very-secret\nSECRETS_URL: '
                         f'http://127.0.0.1:{server.port}/blob\nSECRETS_KEY: k3y\n',
    })
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\n<Location /gramex-status>\n'
              f'SetHandler gramex-status\nRequire all granted\n</Location>')
    yield h, app, server
    server.stop()


def test_secrets_in_httpd(secret_app):
    h, app, server = secret_app
    if not (BUILD / 'mod_gramex_secrets.so').exists():
        pytest.fail('mod_gramex_secrets.so was not built')
    h.start()
    r = requests.get(f'{h.url}/index.html')
    assert r.headers['X-Db'] == 'hunter2-very-secret'
    assert r.headers['X-Remote'] == 'remote-tok-777'
    # never served, whatever allow: says, in any spelling
    for target in ['/.secrets.yaml', '/.secrets.cache', '/%2esecrets.yaml', '/x/../.secrets.yaml',
                   '/.SECRETS.yaml', '/.secrets.yaml.', '/gramex.yaml']:
        status, _, body = raw_get(h.port, target)
        assert status in (400, 403, 404), target
        assert b'hunter2' not in body and b'k3y' not in body
    status = requests.get(f'{h.url}/gramex-status?json').text + requests.get(f'{h.url}/gramex-status').text
    for value in ['hunter2-very-secret', 'remote-tok-777', 'k3y']:
        assert value not in status
        assert value not in h.error_log()
    # the cache is in DefaultRuntimeDir (this httpd has no DefaultStateDir), never in the app
    caches = list((h.dir / 'gramex-secrets').iterdir())
    assert [c.name for c in caches] == [f'{sha256(f"{app}/.secrets.yaml")[:32]}.secrets.cache']
    assert oct(caches[0].stat().st_mode & 0o777) == '0o600'
    assert b'remote-tok-777' not in caches[0].read_bytes()
    assert not (app / '.secrets.cache').exists()

    # the URL goes away: a reload keeps working from the cache, with a warning
    server.stop()
    rc, out = h.graceful()
    assert rc == 0, out
    assert requests.get(f'{h.url}/index.html').headers['X-Remote'] == 'remote-tok-777'
    assert 'last good copy' in h.error_log()
    assert 'remote-tok-777' not in h.error_log()


def test_no_secrets_module_warns(httpd, app_dir):
    app = app_dir({'gramex.yaml': 'url: {}\n', '.secrets.yaml': 'A: b\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"')
    h.conf.write_text('\n'.join(l for l in h.conf.read_text().splitlines()
                                if 'gramex_secrets_module' not in l) + '\n')
    h.start()
    assert 'mod_gramex_secrets is not loaded' in h.error_log()


def test_bad_key_fails_config_test(httpd, app_dir):
    app = app_dir({'gramex.yaml': 'url: {}\n',
                   '.secrets.yaml': 'SECRETS_URL: http://127.0.0.1:9/x\nSECRETS_KEY: k\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"')
    rc, out = h.check()
    assert rc != 0
    assert 'SECRETS_URL http://127.0.0.1:9/x' in out and 'no cached copy' in out
