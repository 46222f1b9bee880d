"""Issue 8 item 4: nothing from gramex.yaml (or a GramexUpstream URL) can
inject. Every hostile value makes `apache2 -t` fail with file:line and the
fix; what legal configs send reaches a raw socket backend, which records the
bytes it receives, as exactly the headers written."""
import pytest
import requests

from gxbackends import CannedBackend
from gxclients import raw_request

# url: on line 6, the request_headers entry on line 8
APP = """url:
  p:
    pattern: /p/(.*)
    handler: ProxyHandler
    kwargs:
      url: {url}
      request_headers:
        {name}: {value}
"""


@pytest.fixture
def raw_backend():
    """Records the bytes of each request head httpd sends it; answers 200 "ok"."""
    b = CannedBackend()
    yield b
    b.stop()


def refused(httpd, app, line, *words):
    h = httpd(f'GramexConfig "{app}/gramex.yaml"')
    rc, out = h.check()
    assert rc != 0, out
    msg = next(l for l in out.splitlines() if l.startswith('gramex: '))
    assert f'{app}/gramex.yaml:{line}: url p: ' in msg, msg
    for w in words:
        assert w in msg, msg
    return msg


@pytest.mark.parametrize('value, shown', [
    (r'"v\r\nX-Injected: 1"', r'v\r\nX-Injected: 1'),
    (r'"v\nX-Injected: 1"', r'v\nX-Injected: 1'),
    (r'"v\rX-Injected: 1"', r'v\rX-Injected: 1'),
    (r'"v\x01w"', r'v\x01w'),     # ("\0" never gets here: YAML strings end at NUL)
    (r'"v\x1b[31m"', r'v\x1B[31m'),
    (r'"v\x7f"', r'v\x7F'),
    (r'"Bearer {handler.session[t]}\r\nX-Injected: 1"', r'\r\nX-Injected: 1'),
])
def test_control_characters_in_a_value_fail_config_test(httpd, app_dir, raw_backend, value, shown):
    app = app_dir({'gramex.yaml': APP.format(url=raw_backend.url + '/{0}', name='X-A',
                                             value=value)})
    # gx_printable writes \r as backslash r, and httpd's log doubles each backslash
    msg = refused(httpd, app, 8, 'request_headers.X-A', 'control character', 'one line',
                  shown.replace('\\', '\\\\'))
    assert '\r' not in msg and '\n' not in msg
    assert raw_backend.requests == []


def test_a_multi_line_value_fails_config_test(httpd, app_dir, raw_backend):
    app = app_dir({'gramex.yaml': APP.format(url=raw_backend.url, name='X-A',
                                             value='|\n          one\n          X-Injected: 1')})
    refused(httpd, app, 8, 'request_headers.X-A', 'control character')


NOT_A_NAME = ('is not a header name', 'write a header name such as X-Api-Key')
OWNED = ('is set by mod_proxy for the message it sends', 'remove it')
HOP = ('is for this proxy hop', 'remove it')


@pytest.mark.parametrize('name, words', [
    ('"X-A: b"', NOT_A_NAME),
    ('"X A"', NOT_A_NAME),
    (r'"X-A\r\nX-Injected"', (r'"X-A\\r\\nX-Injected" is not a header name',)),
    ('"X-(a)"', NOT_A_NAME),
    ('Host', OWNED),
    ('host', OWNED),
    ('Content-Length', OWNED),
    ('Transfer-Encoding', OWNED),
    ('Connection', OWNED),
    ('Upgrade', OWNED),
    ('TE', OWNED),
    ('Keep-Alive', OWNED),
    ('Proxy-Authorization', HOP),
    ('Proxy-Connection', HOP),
])
@pytest.mark.parametrize('value', ['x', 'true'])        # neither set nor forwarded
def test_bad_or_reserved_header_names_fail_config_test(httpd, app_dir, raw_backend, name, words,
                                                       value):
    app = app_dir({'gramex.yaml': APP.format(url=raw_backend.url, name=name, value=value)})
    refused(httpd, app, 8, 'request_headers name', *words)


@pytest.mark.parametrize('url, words', [
    ('"http://127.0.0.1:{port}\\" keepalive=Off retry=0 x=\\"/"', 'has a port that is not'),
    ('"http://127.0.0.1\\" keepalive=Off retry=0 x=\\"/"', 'has a host that is not'),
    ('"http://127.0.0.1:{port}/a\\"b"', "has '\"'"),
    ('"http://127.0.0.1:{port}>/"', 'has a port that is not'),
    ('"http://evil>/"', 'has a host that is not'),
    ('"http://127.0.0.1 x/"', 'has a host that is not'),
    ('"http://127.0.0.1:{port}/a b"', 'has a space'),
    ('"http://127.0.0.1:{port}/a\\\\b"', "has '\\\\' in its path"),   # httpd doubles it
    ('"http://127.0.0.1:{port}/\\r\\nX-Injected: 1"', 'control character'),
    ('"http://127.0.0.1\\n</Proxy>\\n<Proxy x>:{port}/"', 'has a host that is not'),
    ('"http://127.0.0.1%0d%0a:{port}/"', 'has a host that is not'),
    ('"http://127.0.0.1:{port}/%0"', "'%' that is not a %XX"),
    ('"http://u:p@127.0.0.1:{port}/"', 'user:password@'),
    ('"http://{0}/"', 'has a {field} in its host'),
    ('"http://127.0.0.1:99999/"', 'port that is not a number'),
    ('"http://[::1/"', 'IPv6'),
    ('"http://127.0.0.1:{port}/#x"', 'fragment'),
])
def test_unsafe_proxy_urls_fail_config_test(httpd, app_dir, raw_backend, url, words):
    app = app_dir({'gramex.yaml': APP.format(url=url.replace('{port}', str(raw_backend.port)),
                                             name='X-A', value='ok')})
    msg = refused(httpd, app, 6, 'ProxyHandler url', words, 'write e.g. http://')
    assert '\r' not in msg and '\n' not in msg


@pytest.mark.parametrize('urls', [
    '"http://127.0.0.1:9\\" retry=0"',
    '"http://127.0.0.1:9/a b"',
    '"http://127.0.0.1:9>"',
    'http://127.0.0.1:9 "http://127.0.0.1:10\\" x=y"',     # a balancer member
    'http://127.0.0.1:9 "http://127.0.0.1:10\\\\"',
    'ws://127.0.0.1:9',
])
def test_unsafe_upstream_urls_fail_config_test(httpd, urls):
    h = httpd(f'GramexUpstream {urls}')
    rc, out = h.check()
    assert rc != 0
    assert f'of {h.conf}' in out and 'GramexUpstream: ' in out
    assert 'write e.g. GramexUpstream http://127.0.0.1:9988' in out


def test_what_legal_config_sends(httpd, app_dir, raw_backend):
    """Captures, queries and `default:` values with CR LF in them stay
    percent-encoded; a set header is one line; the client cannot add any."""
    app = app_dir({'gramex.yaml': f"""url:
  p:
    pattern: /p/(.*)
    handler: ProxyHandler
    kwargs:
      url: "{raw_backend.url}/{{0}}"
      default: {{d: "x\\r\\nX-Injected: 3"}}
      request_headers:
        X-Tab: "a\\tb"
        X-Pct: "a%0d%0aX-Injected: 4"
"""})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"').start()
    r = raw_request(h.port, '/p/a%0d%0aX-Injected:%201?q=%0D%0AX-Injected:%202')
    assert (r.status, r.body) == (200, b'ok')
    lines = raw_backend.header_lines()
    assert lines[0] == (b'GET /a%0D%0AX-Injected:%201?d=x%0D%0AX-Injected%3A+3'
                        b'&q=%0D%0AX-Injected%3A+2 HTTP/1.1')
    assert not [l for l in lines[1:] if l.lower().startswith(b'x-injected')]
    assert b'X-Tab: a\tb' in lines
    assert b'X-Pct: a%0d%0aX-Injected: 4' in lines
    r = requests.get(f'{h.url}/p/x', headers={'X-Ok': 'fine'})
    assert r.status_code == 200 and raw_backend.header_lines()[0].startswith(b'GET /x?d=')


def test_every_problem_of_a_url_is_reported(httpd, app_dir):
    app = app_dir({'gramex.yaml': APP.format(url='"http://h/a b"', name='Host',
                                             value=r'"x\r\ny"')})
    rc, out = httpd(f'GramexConfig "{app}/gramex.yaml"').check()
    errors = [l for l in out.splitlines() if l.startswith('gramex: ')]
    assert rc != 0
    assert any('gramex.yaml:6: url p: ProxyHandler url' in l for l in errors), out
    assert any('gramex.yaml:8: url p: request_headers name "Host"' in l for l in errors), out
