"""The status page answers "which url answers this path?" with the core's own
decision (?match=/path; with ?json as JSON), the same one gramex-config match prints."""
import json
import subprocess

import pytest
import requests

from gxhttpd import BUILD, REPO, STATUS_PAGE, readable_tmpdir, serving, write_tree

APP = {
    'gramex.yaml': 'url:\n'
                   '  admin:\n    pattern: /admin/(.*)\n    handler: FunctionHandler\n'
                   '    kwargs: {function: str}\n'
                   '  files:\n    pattern: /(.*)\n    handler: FileHandler\n'
                   '    kwargs: {path: $YAMLPATH/}\n',
    'page.html': 'page\n',
}


@pytest.fixture(scope='module')
def server():
    app = write_tree(readable_tmpdir('gxtest-match-'), APP)
    with serving(f'GramexConfig "{app}/gramex.yaml"\n' + STATUS_PAGE, app) as h:
        yield h, app


def test_match_json_is_the_core_decision(server):
    h, app = server
    r = requests.get(f'{h.url}/gramex-status', params={'json': '', 'match': '/%61dmin/x?y=1'})
    assert r.status_code == 200 and r.headers['Content-Type'] == 'application/json'
    assert r.json() == {'action': 'unavailable', 'status': 0, 'url_name': 'admin',
                        'handler': 'FunctionHandler', 'path': '/admin/x', 'file': None,
                        'location': None, 'target': None,
                        'reason': r.json()['reason']}
    r = requests.get(f'{h.url}/gramex-status', params={'json': '', 'match': '/x/../page.html'})
    assert r.json()['action'] == 'file' and r.json()['file'] == f'{app}/page.html'
    # gramex-config match prints the same decision
    cli = subprocess.run([str(BUILD / 'gramex-config'), 'match', '--gramexpath', str(REPO / 'conf'),
                          str(app / 'gramex.yaml'), '/x/../page.html'],
                         capture_output=True, text=True, check=True)
    assert json.loads(cli.stdout) == r.json()


def test_match_form_on_the_html_page(server):
    h, _ = server
    r = requests.get(f'{h.url}/gramex-status', params={'match': '/admin/<b>'})
    assert '<form><input name="match"' in r.text
    assert '&quot;url_name&quot;: &quot;admin&quot;' in r.text
    assert '<b>' not in r.text.split('<h2>Which url answers?</h2>')[1].split('</pre>')[0]
