"""Config-time behaviour with a real httpd: errors that fail `apache2 -t`
with file:line, startup warnings, reloads, vhosts and zero-config pickup."""
import json
import os
import re
import subprocess

import pytest
import requests

from gxhttpd import BUILD, PAGE_APP as GOOD, REPO, STATUS_PAGE


def config_error(httpd, app_dir, files, main='gramex.yaml'):
    app = app_dir(files)
    h = httpd(f'GramexConfig "{app}/{main}"')
    rc, out = h.check()
    assert rc != 0, out
    return app, out


@pytest.mark.parametrize('files, where, words', [
    ({'gramex.yaml': 'url:\n  a: [1\n'}, 'gramex.yaml:3', 'YAML syntax error'),
    ({'gramex.yaml': 'url:\n  b: {}\n  b: {}\n'}, 'gramex.yaml:3', 'duplicate key (b)'),
    ({'gramex.yaml': 'url:\n  x:\n    pattern: /$YAMLURL/(\n    handler: FileHandler\n'
                     '    kwargs: {path: $YAMLPATH/}\n'}, 'gramex.yaml:2', 'is invalid'),
    ({'gramex.yaml': 'url:\n  x:\n    pattern: /data$\n    handler: FileHandler\n'},
     'gramex.yaml:3', 'write $$'),
    ({'gramex.yaml': 'import: a.yaml\n', 'a.yaml': 'import: gramex.yaml\n'}, 'a.yaml:1',
     'import cycle'),
    ({'gramex.yaml': 'import: sub/x.yaml\n', 'sub/x.yaml': 'url: [1\n'}, 'sub/x.yaml:2',
     'YAML syntax error'),
    ({'gramex.yaml': '- just\n- a list\n'}, 'gramex.yaml:1', 'not a mapping'),
    ({'gramex.yaml': 'url:\n  x: {handler: FileHandler}\n'}, 'gramex.yaml:2', 'no pattern'),
    ({'gramex.yaml': 'variables:\n  X: {function: os.getpid()}\n'}, 'gramex.yaml:2',
     'Python function'),
])
def test_bad_config_fails_config_test(httpd, app_dir, files, where, words):
    app, out = config_error(httpd, app_dir, files)
    line = next((l for l in out.splitlines() if l.startswith('gramex: ')), '')
    assert f'{app}/{where}' in line, out
    assert words in line, out


def test_missing_config_file(httpd, app_dir):
    app = app_dir({'x.txt': ''})
    h = httpd(f'GramexConfig "{app}/nope.yaml"')
    rc, out = h.check()
    assert rc != 0
    assert f'gramex: error: {app}/nope.yaml' in out and 'GramexConfig' in out


def test_bad_directives(httpd):
    h = httpd('GramexUpstream ftp://x')
    rc, out = h.check()
    assert rc != 0 and 'GramexUpstream' in out and 'line' in out
    h = httpd('GramexPath /nonexistent/dir')
    rc, out = h.check()
    assert rc != 0 and "GramexPath: '/nonexistent/dir' is not a directory" in out


def test_startup_warnings_name_both_locations(httpd, app_dir):
    app = app_dir({
        'gramex.yaml': 'import: [a/gramex.yaml, b/gramex.yaml]\nmystery: 1\n',
        'a/gramex.yaml': 'url:\n  same: {pattern: /$YAMLURL/x, handler: FileHandler, '
                         'kwargs: {path: $YAMLPATH/}}\n',
        'b/gramex.yaml': 'url:\n  same: {pattern: /b/x, handler: FileHandler, '
                         'kwargs: {path: /srv/elsewhere}}\nimport: nothere.yaml\n',
    })
    h = httpd(f'GramexConfig "{app}/gramex.yaml"').start()
    log = h.error_log()
    assert f"{app}/b/gramex.yaml:2: url 'same' is defined at {app}/a/gramex.yaml:2" in log
    assert f'{app}/gramex.yaml:2: No service named mystery' in log
    assert 'Missing config' in log and 'nothere.yaml' in log
    assert re.search(r'GX0001: main server \S+: app ', log), log


def test_pattern_and_path_warnings(httpd, app_dir):
    app = app_dir({
        'gramex.yaml': 'import: sub/gramex.yaml\n',
        'sub/gramex.yaml': 'url:\n  abs: {pattern: /fixed/x, handler: FileHandler, '
                           'kwargs: {path: static/}}\n',
    })
    h = httpd(f'GramexConfig "{app}/gramex.yaml"').start()
    log = h.error_log()
    assert "url abs: pattern '/fixed/x' does not start with /$YAMLURL/" in log
    assert "url abs: path 'static/' is not under $YAMLPATH/" in log


def test_failed_reload_keeps_serving(httpd, app_dir):
    app = app_dir({'gramex.yaml': GOOD, 'page.html': 'v1\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"').start()
    assert requests.get(f'{h.url}/page').text == 'v1\n'
    (app / 'gramex.yaml').write_text(GOOD + '  page:\n    pattern: dup\n')
    rc, out = h.graceful()
    assert rc != 0 and 'duplicate key (page)' in out
    assert requests.get(f'{h.url}/page').text == 'v1\n'


def test_reload_picks_up_changes(httpd, app_dir):
    app = app_dir({'gramex.yaml': GOOD, 'page.html': 'v1\n', 'other.html': 'other\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"').start()
    assert requests.get(f'{h.url}/other').status_code == 404
    (app / 'gramex.yaml').write_text(GOOD.replace('/page', '/other').replace('page.html',
                                                                             'other.html'))
    rc, _ = h.graceful()
    assert rc == 0
    assert requests.get(f'{h.url}/other').text == 'other\n'


def test_vhosts_serve_different_apps_and_zero_config(httpd, app_dir):
    one = app_dir({'gramex.yaml': GOOD, 'page.html': 'one\n'})
    two = app_dir({'gramex.yaml': GOOD, 'page.html': 'two\n'})
    # zero-config: gramex.yaml beside the file that defines the vhost
    three = app_dir({'gramex.yaml': GOOD, 'page.html': 'three\n'})
    sites = app_dir({'site.conf': ''})
    h = httpd('')
    (sites / 'site.conf').write_text(f'<VirtualHost 127.0.0.1:{h.port}>\n'
                                     '  ServerName three.test\n</VirtualHost>\n')
    os.symlink(three / 'gramex.yaml', sites / 'gramex.yaml')
    h.write(f"""
<VirtualHost 127.0.0.1:{h.port}>
  ServerName one.test
  GramexConfig "{one}/gramex.yaml"
</VirtualHost>
<VirtualHost 127.0.0.1:{h.port}>
  ServerName two.test
  GramexConfig "{two}/gramex.yaml"
</VirtualHost>
<VirtualHost 127.0.0.1:{h.port}>
  ServerName off.test
  GramexConfig Off
</VirtualHost>
Include "{sites}/site.conf"
""")
    h.start()
    get = lambda host: requests.get(f'{h.url}/page', headers={'Host': host})
    assert get('one.test').text == 'one\n'
    assert get('two.test').text == 'two\n'
    assert get('three.test').text == 'three\n'
    assert get('off.test').status_code == 403     # Apache's own handling: <Directory /> denied
    log = h.error_log()
    assert re.search(rf'GX0001: vhost three.test:{h.port} \({sites}/site.conf:1\): app '
                     rf'{three}/gramex.yaml \(found {sites}/gramex.yaml -> {three}/gramex.yaml\)',
                     log), log
    assert log.count('GX0001') == 3      # once per vhost with an app (not off.test)


def test_relative_gramexconfig(httpd, app_dir):
    app = app_dir({'gramex.yaml': GOOD, 'page.html': 'rel\n'})
    confs = app_dir({'vhost.conf': f'GramexConfig ../{app.name}/gramex.yaml\n'})
    h = httpd('')
    h.write(f'Include "{confs}/vhost.conf"')
    h.start()
    assert requests.get(f'{h.url}/page').text == 'rel\n'


def test_status_page(httpd, app_dir):
    app = app_dir({'gramex.yaml': GOOD, 'page.html': 'x\n'})
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\n' + STATUS_PAGE).start()
    data = requests.get(f'{h.url}/gramex-status?json').json()
    names = [r['name'] for r in data['apps'][0]['routes']]
    assert names == ['page', 'default']
    assert data['apps'][0]['yaml'] == f'{app}/gramex.yaml'
    html = requests.get(f'{h.url}/gramex-status').text
    assert '<td>page</td>' in html


def cli(*args):
    out = subprocess.run([str(BUILD / 'gramex-config'), *args, '--gramexpath', str(REPO / 'conf')],
                         capture_output=True, text=True)
    return out.returncode, out.stdout, out.stderr


def test_cli_check_dump_routes(app_dir):
    app = app_dir({
        'gramex.yaml': 'variables: {NUM: 5}\nimport: {sub: {path: s/gramex.yaml, '
                       'YAMLURL: $YAMLURL/mnt/}}\nurl:\n  a: {pattern: /$YAMLURL/a, '
                       'handler: FileHandler, priority: 2, kwargs: {path: $YAMLPATH/, '
                       'headers: {X-N: $NUM}}}\n',
        's/gramex.yaml': 'url:\n  b: {pattern: /$YAMLURL/b/(.*), handler: FunctionHandler}\n',
    })
    rc, out, err = cli('check', f'{app}/gramex.yaml')
    assert rc == 0 and 'OK, 3 routes' in out
    assert 'url b (FunctionHandler)' in err
    rc, out, _ = cli('dump', f'{app}/gramex.yaml')
    dump = json.loads(out)
    assert list(dump) == ['url', 'handlers', 'app']
    assert dump['url']['a']['kwargs']['headers']['X-N'] == 5
    assert dump['url']['b']['pattern'] == '/./mnt/b/(.*)'
    rc, out, _ = cli('routes', '--json', f'{app}/gramex.yaml')
    routes = json.loads(out)
    assert [r['name'] for r in routes] == ['a', 'b', 'default']
    assert routes[1]['regex'] == '/mnt/b/(.*)$'
    assert routes[0]['source'] == f'{app}/gramex.yaml:4'
    assert routes[0]['kwargs']['ignore'] == ['gramex*.yaml', '.*', '*.py*']   # handler defaults
    rc, out, _ = cli('routes', f'{app}/gramex.yaml')
    assert re.search(r'^2\s+b\s+/mnt/b/\(\.\*\)\$\s+FunctionHandler\s+upstream', out, re.M)
    (app / 'gramex.yaml').write_text('url: [1\n')
    rc, _, err = cli('check', f'{app}/gramex.yaml')
    assert rc == 1 and f'{app}/gramex.yaml:2' in err


def test_misspelt_handler_and_absolute_path_messages(httpd, app_dir):
    app = app_dir({
        'gramex.yaml': 'import: sub/gramex.yaml\n',
        'sub/gramex.yaml': 'url:\n'
                           '  typo: {pattern: /$YAMLURL/t, handler: FileHandlr, '
                           'kwargs: {path: $YAMLPATH/}}\n'
                           '  abs: {pattern: /$YAMLURL/a/(.*), handler: FileHandler, '
                           'kwargs: {path: /srv/shared/}}\n'
                           '  own: {pattern: /$YAMLURL/o, handler: CustomHandler}\n',
    })
    h = httpd(f'GramexConfig "{app}/gramex.yaml"')
    rc, out = h.check()
    assert rc == 0, out
    assert (f'gramex: warning: {app}/sub/gramex.yaml:2: url typo: handler FileHandlr is not a '
            'Gramex handler; did you mean FileHandler?') in out
    assert 'FileHandlr runs Python' not in out
    assert "url abs: path '/srv/shared/'" not in out      # absolute: same wherever Gramex runs
    assert 'did you mean' not in out.split('url own')[-1].split('\n')[0]   # no guess for CustomHandler


def test_config_test_separates_warnings_and_errors(httpd, app_dir):
    app = app_dir({'gramex.yaml': 'url:\n  ws: {pattern: /$YAMLURL/ws, handler: WebSocketHandler}\n'
                                  'mystery: 1\n'})
    # mod_proxy_http's tunnel: each WebSocket holds a worker, which GX0002 warns of
    h = httpd(f'GramexConfig "{app}/gramex.yaml"\nGramexWebSocketAsync Off')
    rc, out = h.check()
    assert rc == 0 and 'Syntax OK' in out, out
    lines = [l for l in out.splitlines() if l.startswith('gramex: ')]
    assert lines and all(l.startswith('gramex: warning: ') for l in lines), out
    ws = next(l for l in lines if 'GX0002' in l)
    assert 'a2enconf gramex-websockets, then a full restart' in ws and 'AH00508' in ws
    (app / 'gramex.yaml').write_text('url: [1\n')
    rc, out = h.check()
    assert rc != 0
    assert any(l.startswith(f'gramex: error: {app}/gramex.yaml:2') for l in out.splitlines()), out
