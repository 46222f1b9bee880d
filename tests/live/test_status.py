"""The status page (SetHandler gramex-status): per vhost where the app came
from and when, per url where requests go, effective allow/ignore/headers,
hits and errors summed over children, upstream health and secrets state."""
import json
import re
import time

import requests

from gxhttpd import free_port

STATUS = ('<Location /gramex-status>\n  SetHandler gramex-status\n  Require all granted\n'
          '</Location>')
APP = """
url:
  static:
    pattern: /$YAMLURL/static/(.*)
    handler: FileHandler
    kwargs:
      path: $YAMLPATH/static/
      ignore: ['*.html']
      allow: ['keep.html']
      headers:
        X-Static: on-disk
        X-Db: $DB
        Cache-Control: max-age=60
  backend:
    pattern: /$YAMLURL/api/(.*)
    handler: ProxyHandler
    kwargs: {url: 'http://127.0.0.1:{port}/{0}'}
  python:
    pattern: /$YAMLURL/fn
    handler: FunctionHandler
    kwargs: {function: str}
"""


def app_with(app_dir, backend_port, secrets=None):
    files = {'gramex.yaml': APP.replace('{port}', str(backend_port)),
             'static/a.txt': 'a\n', 'static/b.html': 'b\n'}
    if secrets:
        files['.secrets.yaml'] = secrets
    return app_dir(files)


def counted(h, done, bound=20):
    """The status JSON once done(data) holds (children count after answering)."""
    end = time.time() + bound
    while True:
        data = requests.get(f'{h.url}/gramex-status?json').json()
        if done(data) or time.time() > end:
            return data
        time.sleep(0.05)


def test_status_answers_the_operators_questions(httpd, app_dir):
    dead = free_port()      # nothing listens here
    app = app_with(app_dir, dead, 'DB: hunter2-very-secret\n')
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\nGramexUpstream http://127.0.0.1:{dead}\n'
              + STATUS).start()
    # 3 hits on static (one 200, one 403 refused by allow:, one 404), 1 on the proxy (503/502)
    assert requests.get(f'{h.url}/static/a.txt').text == 'a\n'
    assert requests.get(f'{h.url}/static/b.html').status_code == 403
    # sent at once: the 403's child may count it after the 404's child
    assert requests.get(f'{h.url}/static/nope.txt').status_code == 404
    assert requests.get(f'{h.url}/api/x').status_code in (502, 503)
    # a child counts a request after answering it: wait (bounded) until all 4 are counted
    data = counted(h, lambda d: sum(r['hits'] for r in d['apps'][0]['routes']) == 4)
    assert data['port'] == h.port
    assert data['vhost'].startswith('main server ')
    assert data['counters'] == 'summed over all children since the last (re)start'
    a = data['apps'][0]
    assert a['yaml'] == f'{app}/gramex.yaml'
    assert re.fullmatch(rf'GramexConfig at {h.conf}:\d+', a['source'])
    assert re.match(r'\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT', a['loaded_at'])
    assert a['reload_error'] is None
    assert a['counts']['routes'] == len(a['routes'])
    assert (a['counts']['file'], a['counts']['proxy'], a['counts']['upstream']) == (2, 1, 1)
    routes = {r['name']: r for r in a['routes']}
    st = routes['static']
    assert st['goes_to'] == f'files under {app}/static'
    assert st['allow'] == ['keep.html'] and '*.html' in st['ignore']
    assert {'name': 'X-Static', 'value': 'on-disk', 'files': None} in st['headers']
    # a value from a variable (here a secret) is shown as written, never as its value
    assert {'name': 'X-Db', 'value': '$DB', 'files': None} in st['headers']
    assert requests.get(f'{h.url}/static/a.txt').headers['X-Db'] == 'hunter2-very-secret'

    assert (st['hits'], st['4xx'], st['5xx']) == (3, 2, 0)
    # the latest request's error, whichever child counted last
    assert st['last_error'].startswith('404 at ')
    assert routes['backend']['goes_to'] == f'proxy to http://127.0.0.1:{dead}/{{0}}'
    assert routes['backend']['hits'] == 1 and routes['backend']['5xx'] == 1
    assert routes['python']['goes_to'].startswith(f'Gramex upstream http://127.0.0.1:{dead}')
    assert routes['python']['hits'] == 0
    up = a['upstream']
    assert up['target'] == f'http://127.0.0.1:{dead}'
    assert up['urls'][0]['ok'] is False and up['urls'][0]['detail'].startswith('cannot connect')
    sec = a['secrets']
    assert sec['file'] == f'{app}/.secrets.yaml' and sec['present'] is True
    assert 'hunter2' not in requests.get(f'{h.url}/gramex-status?json').text
    html = requests.get(f'{h.url}/gramex-status').text
    assert 'hunter2' not in html
    assert f'<code>{app}/gramex.yaml</code>' in html
    assert f'files under {app}/static' in html
    assert '<code>X-Static: on-disk</code>' in html
    assert 'cannot connect' in html


def test_status_upstream_up_and_secrets_url_redacted(httpd, app_dir):
    import socket
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:
        app = app_with(app_dir, port, 'SECRETS_URL: http://127.0.0.1:9/token/abc?key=zzz\n'
                       'SECRETS_KEY: k\n')
        h = httpd(f'GramexConfig "{app}/gramex.yaml"\nGramexSecrets Off\n'
                  f'GramexUpstream http://127.0.0.1:{port}\n' + STATUS).start()
        a = requests.get(f'{h.url}/gramex-status?json').json()['apps'][0]
        assert a['upstream']['urls'][0] == {'url': f'http://127.0.0.1:{port}', 'ok': True,
                                            'detail': 'accepts connections'}
        assert a['secrets']['url'] == 'http://127.0.0.1/…'
        assert 'abc' not in str(a['secrets']) and 'zzz' not in str(a['secrets'])
    finally:
        listener.close()


def test_status_without_app_says_where_it_looked(httpd, app_dir):
    h = httpd(STATUS).start()
    data = requests.get(f'{h.url}/gramex-status?json').json()
    assert data['apps'] == []
    assert data['looked_for'] == f'{h.dir}/gramex.yaml'
    html = requests.get(f'{h.url}/gramex-status').text
    assert f'Looked for: <code>{h.dir}/gramex.yaml</code>' in html


SECRET = 's3cr3t-token-value-42'
SECRET_APP = """
url:
  api:
    pattern: /$YAMLURL/api/(.*)
    handler: ProxyHandler
    kwargs: {url: 'http://127.0.0.1:{port}/{0}?key=$TOKEN'}
  away:
    pattern: /$YAMLURL/away
    handler: tornado.web.RedirectHandler
    kwargs: {url: 'https://example.org/?t=$TOKEN'}
  static:
    pattern: /$YAMLURL/static/(.*)
    handler: FileHandler
    kwargs:
      path: $YAMLPATH/static/
      ignore: ['$TOKEN-*.txt']
      headers:
        X-Via-Var: $TOKEN
        X-Literal: {secret}
"""


def test_status_never_shows_a_secret(httpd, app_dir):
    """A secret's value, whether it reaches the config through a variable or
    is copied into it literally, appears nowhere on the page: HTML, JSON, and
    the ?match decision (which holds the proxy target as sent)."""
    dead = free_port()
    app = app_dir({'gramex.yaml': SECRET_APP.replace('{port}', str(dead))
                   .replace('{secret}', SECRET),
                   'static/a.txt': 'a\n', '.secrets.yaml': f'TOKEN: {SECRET}\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\n' + STATUS).start()
    # the secret is in use: served in headers, sent in the redirect
    got = requests.get(f'{h.url}/static/a.txt')
    assert (got.headers['X-Via-Var'], got.headers['X-Literal']) == (SECRET, SECRET)
    assert requests.get(f'{h.url}/away', allow_redirects=False).headers['Location'] \
        == f'https://example.org/?t={SECRET}'
    pages = {q: requests.get(f'{h.url}/gramex-status{q}').text
             for q in ['', '?json', '?match=/api/x', '?match=/api/x&json']}
    for q, text in pages.items():
        assert SECRET not in text, q
    routes = {r['name']: r for r in json.loads(pages['?json'])['apps'][0]['routes']}
    # as written where a variable held it, *** where it was copied literally
    assert routes['api']['goes_to'] == f'proxy to http://127.0.0.1:{dead}/{{0}}?key=$TOKEN'
    assert routes['away']['goes_to'] == 'redirect (301) to https://example.org/?t=$TOKEN'
    assert {'name': 'X-Via-Var', 'value': '$TOKEN', 'files': None} in routes['static']['headers']
    assert {'name': 'X-Literal', 'value': '***', 'files': None} in routes['static']['headers']
    assert '<code>X-Literal: ***</code>' in pages['']
    assert '***-*.txt' in routes['static']['ignore']
    assert '<code>***-*.txt</code>' in pages['']
    # the decision holds the target as sent, the secret masked
    assert json.loads(pages['?match=/api/x&json'])['target'] \
        == f'http://127.0.0.1:{dead}/x?key=***'
    assert f'http://127.0.0.1:{dead}/x?key=***' in pages['?match=/api/x']
