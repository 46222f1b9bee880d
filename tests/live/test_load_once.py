"""Each app is parsed once per start: httpd reads its config twice when it
starts (a first pass, then the real one), and several vhosts may name the same
gramex.yaml. mod_gramex logs every parse at LogLevel debug, and after each
start or restart how many it has made, which these tests count. The proxy
workers come from the same load."""
import re

import requests

from gxhttpd import PAGE_APP as APP, PROXY_APP

DEBUG = 'LogLevel warn gramex:debug'


def parses(h):
    """The parse counts the real passes logged so far, in order."""
    return [int(n) for n in re.findall(r'gramex: (\d+) parses of apps since Apache started',
                                       h.error_log())]


def test_start_parses_once(httpd, app_dir):
    app = app_dir({'gramex.yaml': APP, 'page.html': 'one\n'})
    h = httpd(f'{DEBUG}\nGramexConfig {app}/gramex.yaml').start()
    assert requests.get(f'{h.url}/page').text == 'one\n'
    assert parses(h) == [1]


def test_config_test_parses_once(httpd, app_dir):
    """apache2 -t: one parse, not a second one while GramexConfig is read."""
    app = app_dir({'gramex.yaml': APP, 'page.html': 'one\n'})
    h = httpd(f'{DEBUG}\nGramexConfig {app}/gramex.yaml')
    rc, out = h.check()
    assert rc == 0, out
    assert re.findall(r'gramex: parsing (\S+)', out) == [f'{app}/gramex.yaml']


def test_vhosts_sharing_an_app_parse_it_once(httpd, app_dir):
    app = app_dir({'gramex.yaml': APP, 'page.html': 'one\n'})
    h = httpd(f'{DEBUG}\nGramexConfig {app}/gramex.yaml\n'
              f'<VirtualHost 127.0.0.1:*>\n  ServerName a.test\n'
              f'  GramexConfig {app}/gramex.yaml\n</VirtualHost>\n'
              f'<VirtualHost 127.0.0.1:*>\n  ServerName b.test\n'
              f'  GramexConfig {app}/gramex.yaml\n</VirtualHost>').start()
    for host in ['a.test', 'b.test']:
        assert requests.get(f'{h.url}/page', headers={'Host': host}).text == 'one\n'
    assert parses(h) == [1]


def test_restart_parses_again(httpd, app_dir):
    """A restart reads the files afresh: one more parse, and the edit is served."""
    app = app_dir({'gramex.yaml': APP, 'page.html': 'one\n'})
    h = httpd(f'{DEBUG}\nGramexConfig {app}/gramex.yaml').start()
    (app / 'gramex.yaml').write_text(APP.replace('pattern: /$YAMLURL/page',
                                                 'pattern: /$YAMLURL/moved'))
    rc, out = h.graceful()
    assert rc == 0, out
    assert requests.get(f'{h.url}/moved').text == 'one\n'
    assert requests.get(f'{h.url}/page').status_code == 404
    assert parses(h) == [1, 2]


def test_workers_for_vhosts_inheriting_the_main_app(httpd, app_dir, backends):
    """GramexConfig in the main server, a vhost without one: the vhost serves
    the main server's app, and its proxy keeps the original Host (the worker's
    ProxyPreserveHost), though the workers are defined after vhosts merge."""
    b = backends()
    app = app_dir({'gramex.yaml': PROXY_APP.format(port=b.port)})
    h = httpd(f'GramexConfig {app}/gramex.yaml\n'
              f'<VirtualHost 127.0.0.1:*>\n  ServerName v.test\n</VirtualHost>').start()
    echo = requests.get(f'{h.url}/api/x?y=1', headers={'Host': 'v.test'}).json()
    assert echo['path'] == '/x' and echo['query'] == 'y=1'
    assert echo['headers']['Host'] == 'v.test'
