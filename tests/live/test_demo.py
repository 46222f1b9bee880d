"""The bundled demo app, served the way `./apxs-build.sh run` serves it."""
import pytest
import requests

from gxhttpd import REPO, STATUS_PAGE, readable_copy, serving

DEMO = REPO / 'demo'


@pytest.fixture(scope='module')
def demo():
    # a copy www-data can read, wherever the checkout lives
    app = readable_copy(REPO / 'demo', 'gxtest-demo-')
    with serving(f'GramexConfig "{app}/gramex.yaml"\n' + STATUS_PAGE, app.parent) as h:
        yield h


def test_home_and_sub_apps(demo):
    r = requests.get(f'{demo.url}/')
    assert r.status_code == 200 and r.text == (DEMO / 'index.html').read_text()
    assert r.headers['X-Demo'] == 'home' and r.headers['X-Frame-Options'] == 'SAMEORIGIN'
    assert 'Server' not in r.headers
    r = requests.get(f'{demo.url}/sales/')
    assert r.text == (DEMO / 'sales' / 'index.html').read_text() and r.headers['X-App'] == 'sales'
    r = requests.get(f'{demo.url}/people/')
    assert r.text == (DEMO / 'hr' / 'index.html').read_text() and r.headers['X-App'] == 'hr'
    assert requests.get(f'{demo.url}/people/static/hr.css').text == 'h1 { color: teal; }\n'
    # /hr/ is not the sub-app's mount: only the base `default` route serves it, as a file
    assert 'X-App' not in requests.get(f'{demo.url}/hr/').headers


@pytest.mark.parametrize('path', ['/static/app.js', '/static/data.json', '/static/style.css'])
def test_allowed(demo, path):
    r = requests.get(demo.url + path)
    assert r.status_code == 200 and r.content == (DEMO / path[1:]).read_bytes()
    assert r.headers['Cache-Control'] == 'public, max-age=3600'


@pytest.mark.parametrize('path', ['/static/.env', '/static/secret.yaml', '/static/notes.py',
                                  '/gramex.yaml', '/sales/gramex.yaml', '/hr/gramex.yaml'])
def test_denied(demo, path):
    r = requests.get(demo.url + path)
    assert r.status_code == 403
    assert 'not-for-the-web' not in r.text


def test_error_page_and_python_route(demo):
    r = requests.get(f'{demo.url}/static/missing.html')
    assert r.status_code == 404 and r.text == (DEMO / '404.html').read_text()
    r = requests.get(f'{demo.url}/hello')
    assert (r.status_code, r.text) == (503, '503 Service Unavailable: hello needs a Gramex '
                                            'process behind Apache (GramexUpstream is not set).\n')
    routes = requests.get(f'{demo.url}/gramex-status?json').json()['apps'][0]['routes']
    assert [r['name'] for r in routes][:2] == ['hr-static', 'hr-home']
