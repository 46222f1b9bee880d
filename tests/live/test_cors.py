"""CORS from a url's cors: settings (spec e.8), natively in Apache."""
import pytest
import requests

from gxhttpd import readable_tmpdir, serving, write_tree

APP = """
url:
  listed:
    pattern: /$YAMLURL/listed/(.*)
    handler: FileHandler
    kwargs:
      path: $YAMLPATH/
      cors:
        origins: ["https://a.example", "https://*.b.example"]
        methods: [GET, POST]
        headers: [X-Custom]
  anyone:
    pattern: /$YAMLURL/any/(.*)
    handler: FileHandler
    kwargs: {path: $YAMLPATH/, cors: true}
  plain:
    pattern: /$YAMLURL/plain/(.*)
    handler: FileHandler
    kwargs: {path: $YAMLPATH/}
"""


@pytest.fixture(scope='module')
def server():
    app = write_tree(readable_tmpdir('gxtest-cors-'), {'gramex.yaml': APP, 'x.txt': 'x\n'})
    with serving(f'GramexConfig "{app}/gramex.yaml"', app) as h:
        yield h


def preflight(h, path, origin, method='POST', headers=None):
    hdrs = {'Origin': origin, 'Access-Control-Request-Method': method}
    if headers:
        hdrs['Access-Control-Request-Headers'] = headers
    return requests.options(h.url + path, headers=hdrs)


def test_listed_origins_echoed_one_at_a_time(server):
    for origin in ['https://a.example', 'https://x.b.example']:
        r = requests.get(f'{server.url}/listed/x.txt', headers={'Origin': origin})
        assert (r.status_code, r.text) == (200, 'x\n')
        assert r.headers['Access-Control-Allow-Origin'] == origin
        assert r.headers['Vary'] == 'Origin'
    r = requests.get(f'{server.url}/listed/x.txt', headers={'Origin': 'https://evil.example'})
    assert 'Access-Control-Allow-Origin' not in r.headers
    r = requests.get(f'{server.url}/listed/x.txt', headers={'Origin': 'https://a.example',
                                                          'Cookie': 'sid=1'})
    assert r.headers['Access-Control-Allow-Credentials'] == 'true'


def test_preflight(server):
    r = preflight(server, '/listed/x.txt', 'https://a.example', 'post', 'x-custom')
    assert r.status_code == 200
    assert r.headers['Access-Control-Allow-Origin'] == 'https://a.example'
    assert r.headers['Access-Control-Allow-Methods'] == 'GET, POST'
    assert r.headers['Access-Control-Allow-Headers'] == 'x-custom'
    assert preflight(server, '/listed/x.txt', 'https://evil.example').status_code == 400
    assert preflight(server, '/listed/x.txt', 'https://a.example', 'DELETE').status_code == 400
    assert preflight(server, '/listed/x.txt', 'https://a.example', 'GET', 'X-Other').status_code == 400


def test_any_origin_never_with_credentials(server):
    r = requests.get(f'{server.url}/any/x.txt', headers={'Origin': 'https://whoever.example',
                                                       'Cookie': 'sid=1'})
    assert r.headers['Access-Control-Allow-Origin'] == '*'
    assert 'Access-Control-Allow-Credentials' not in r.headers
    r = preflight(server, '/any/x.txt', 'https://whoever.example', 'PUT', 'X-Anything')
    assert r.status_code == 200 and 'PATCH' in r.headers['Access-Control-Allow-Methods']


def test_no_cors_no_headers(server):
    r = requests.get(f'{server.url}/plain/x.txt', headers={'Origin': 'https://a.example'})
    assert 'Access-Control-Allow-Origin' not in r.headers
