"""A method a url does not allow: 405 with Gramex's own answer (Tornado's
HTTPError, as text/plain with serve_traceback, Gramex's default; its HTML
line without), not httpd's page. Before it, for POST, PUT, DELETE and PATCH,
Gramex's XSRF check: a browser's request without a token is 403. Statuses,
types and bodies as Gramex 1.94.5 answers them (gramex_serve.py on this app),
the traceback cut to its last line: the error, not the lines naming Gramex's
own files."""
import requests

from gxbackends import CannedBackend

APP = """
url:
  up:
    pattern: /$YAMLURL/upload
    handler: UploadHandler
    kwargs: {path: $YAMLPATH/uploaded/, methods: post}
  fn:
    pattern: /$YAMLURL/fn
    handler: FunctionHandler
    kwargs: {function: str('x'), methods: [post, Put]}
  page:
    pattern: /$YAMLURL/page
    handler: FileHandler
    kwargs:
      path: $YAMLPATH/page.txt
      methods: POST
      error: {405: {path: $YAMLPATH/405.txt}}
  old:
    pattern: /$YAMLURL/old
    handler: tornado.web.RedirectHandler
    kwargs: {url: /page}
  shared:
    pattern: /$YAMLURL/shared
    handler: FunctionHandler
    kwargs:
      function: str('x')
      methods: GET
      cors: {origins: '*'}
      error: {403: {path: $YAMLPATH/403.txt}}
  open:
    pattern: /$YAMLURL/open
    handler: FunctionHandler
    kwargs: {function: str('x'), methods: GET, xsrf_cookies: false}
"""

AJAX = {'X-Requested-With': 'XMLHttpRequest'}
TOKEN_V2 = '2|aabbccdd|abb9cfd9af|1700000000'       # Tornado's form of the token 0102030405
XSRF_403 = "tornado.web.HTTPError: HTTP 403: Forbidden ('_xsrf' argument missing from POST)\n"
HTML_405 = '<html><title>405: Method Not Allowed</title><body>405: Method Not Allowed</body></html>'
HTML_403 = '<html><title>403: Forbidden</title><body>403: Forbidden</body></html>'


def served(httpd, app_dir, extra=''):
    app = app_dir({'gramex.yaml': extra + APP, 'page.txt': 'page\n', '405.txt': 'no such verb\n',
                   '403.txt': 'no token\n'})
    return httpd(f'GramexConfig "{app}/gramex.yaml"').start()


def test_refused_method_answers_as_gramex(httpd, app_dir):
    h = served(httpd, app_dir)
    r = requests.get(f'{h.url}/fn')
    assert (r.status_code, r.headers['Content-Type'], r.text) == (
        405, 'text/plain', 'tornado.web.HTTPError: HTTP 405: Method Not Allowed (fn: method GET '
        "not in allowed methods ['POST', 'PUT'])\n")
    allow = r.headers['Allow'].replace(' ', '').split(',')
    assert 'POST' in allow and 'PUT' in allow and 'GET' not in allow
    r = requests.options(f'{h.url}/fn')
    assert (r.status_code, r.text) == (405, 'tornado.web.HTTPError: HTTP 405: Method Not Allowed '
                                       "(fn: method OPTIONS not in allowed methods ['POST', 'PUT'])\n")
    # RedirectHandler has GET only, not even HEAD (POST, PUT, DELETE and PATCH
    # meet the XSRF check first)
    r = requests.options(f'{h.url}/old')
    assert (r.status_code, r.headers['Content-Type'], r.text) == (
        405, 'text/plain', 'tornado.web.HTTPError: HTTP 405: Method Not Allowed\n')
    r = requests.head(f'{h.url}/old')
    assert (r.status_code, r.headers['Content-Type'], 'Location' in r.headers) == (
        405, 'text/plain', False)
    # the url's error: page wins, as in Gramex
    r = requests.get(f'{h.url}/page')
    assert (r.status_code, r.headers['Content-Type'], r.text) == (405, 'text/plain', 'no such verb\n')


def test_without_serve_traceback_tornados_html(httpd, app_dir):
    h = served(httpd, app_dir, 'app: {settings: {serve_traceback: false}}\n')
    r = requests.get(f'{h.url}/fn')
    assert (r.status_code, r.headers['Content-Type'], r.text) == (
        405, 'text/html; charset=UTF-8', HTML_405)
    r = requests.options(f'{h.url}/old')
    assert (r.status_code, r.headers['Content-Type'], r.text) == (
        405, 'text/html; charset=UTF-8', HTML_405)
    r = requests.delete(f'{h.url}/open')
    assert (r.status_code, r.headers['Content-Type'], r.text) == (
        405, 'text/html; charset=UTF-8', HTML_405)
    r = requests.post(f'{h.url}/old')
    assert (r.status_code, r.headers['Content-Type'], r.text) == (
        403, 'text/html; charset=UTF-8', HTML_403)
    # the url's error: page still wins
    r = requests.get(f'{h.url}/page')
    assert (r.status_code, r.headers['Content-Type'], r.text) == (405, 'text/plain', 'no such verb\n')


def test_xsrf_check_comes_before_methods(httpd, app_dir):
    h = served(httpd, app_dir)
    # a browser's POST without a token: Gramex's XSRF check answers first,
    # before methods: and before CORS headers; the url's error: 403 page
    r = requests.post(f'{h.url}/shared', headers={'Origin': 'http://elsewhere.example'})
    assert (r.status_code, r.headers['Content-Type'], r.text) == (403, 'text/plain', 'no token\n')
    assert 'Allow' not in r.headers and 'Access-Control-Allow-Origin' not in r.headers
    assert 'Origin' not in r.headers.get('Vary', '')
    # a Gramex handler without one sends its own 403 page (a template): httpd's here
    r = requests.delete(f'{h.url}/fn')
    assert r.status_code == 403 and 'Allow' not in r.headers
    # AJAX requests skip BaseHandler's check: on to methods:
    r = requests.delete(f'{h.url}/fn', headers=AJAX)
    assert (r.status_code, r.headers['Content-Type'], r.text) == (
        405, 'text/plain', 'tornado.web.HTTPError: HTTP 405: Method Not Allowed (fn: method DELETE '
        "not in allowed methods ['POST', 'PUT'])\n")
    r = requests.patch(f'{h.url}/fn', headers={'Sec-Fetch-Mode': 'cors'})
    assert r.status_code == 405
    # a token that matches the _xsrf cookie passes: on to methods:
    cookie = {'_xsrf': 'abc'}
    r = requests.delete(f'{h.url}/fn', headers={'X-Xsrftoken': 'abc'}, cookies=cookie)
    assert r.status_code == 405
    r = requests.delete(f'{h.url}/fn?_xsrf=abc', cookies=cookie)
    assert r.status_code == 405
    r = requests.delete(f'{h.url}/fn', headers={'X-Csrftoken': TOKEN_V2},
                        cookies={'_xsrf': '0102030405'})
    assert r.status_code == 405
    # one that does not is 403 (Tornado's text for RedirectHandler)
    r = requests.delete(f'{h.url}/fn', headers={'X-Xsrftoken': 'abd'}, cookies=cookie)
    assert r.status_code == 403
    r = requests.put(f'{h.url}/old', headers={'X-Xsrftoken': TOKEN_V2})
    assert (r.status_code, r.text) == (403, 'tornado.web.HTTPError: HTTP 403: Forbidden (XSRF '
                                       'cookie does not match POST argument)\n')
    r = requests.put(f'{h.url}/old?_xsrf=3|x', cookies=cookie)
    assert (r.status_code, r.text) == (403, 'tornado.web.HTTPError: HTTP 403: Forbidden (\'_xsrf\' '
                                       'argument has invalid format)\n')
    # a form body may carry one: Gramex decides
    r = requests.post(f'{h.url}/shared', data={'_xsrf': 'abc'}, cookies=cookie)
    assert r.status_code == 405
    # xsrf_cookies: false on the url
    r = requests.delete(f'{h.url}/open')
    assert (r.status_code, r.text) == (405, 'tornado.web.HTTPError: HTTP 405: Method Not Allowed '
                                       "(open: method DELETE not in allowed methods ['GET'])\n")
    # RedirectHandler runs Tornado's own check, which AJAX does not skip
    r = requests.post(f'{h.url}/old', headers=AJAX)
    assert (r.status_code, r.headers['Content-Type'], r.text) == (403, 'text/plain', XSRF_403)
    r = requests.put(f'{h.url}/old', headers={'X-Csrftoken': 'abc'}, cookies={'_xsrf': 'abc'})
    assert (r.status_code, r.headers['Content-Type'], r.text) == (
        405, 'text/plain', 'tornado.web.HTTPError: HTTP 405: Method Not Allowed\n')


def test_xsrf_cookies_off_for_the_app(httpd, app_dir):
    h = served(httpd, app_dir, 'app: {settings: {xsrf_cookies: false}}\n')
    r = requests.post(f'{h.url}/old')
    assert (r.status_code, r.text) == (405, 'tornado.web.HTTPError: HTTP 405: Method Not Allowed\n')
    r = requests.delete(f'{h.url}/shared')
    assert (r.status_code, r.text) == (405, 'tornado.web.HTTPError: HTTP 405: Method Not Allowed '
                                       "(shared: method DELETE not in allowed methods ['GET'])\n")


def test_upload_handler_keeps_methods_for_itself(httpd, app_dir):
    """UploadHandler takes methods: for itself (methods: get lists the
    uploads) and BaseHandler never sees it: Gramex refuses no method, so
    every method goes to Gramex, which answers for itself."""
    gramex = CannedBackend()
    app = app_dir({'gramex.yaml': 'url:\n  up:\n    pattern: /$YAMLURL/upload\n'
                                  '    handler: UploadHandler\n'
                                  '    kwargs: {path: $YAMLPATH/uploaded/, methods: get}\n'})
    try:
        h = httpd(f'GramexConfig "{app}/gramex.yaml"\nGramexUpstream {gramex.url}').start()
        r = requests.post(f'{h.url}/upload', files={'file': ('a.txt', b'hello')})
        assert (r.status_code, r.text) == (200, 'ok')
        r = requests.get(f'{h.url}/upload')
        assert (r.status_code, r.text) == (200, 'ok')
        assert [req.split(b'\r\n')[0] for req in gramex.requests] == [
            b'POST /upload HTTP/1.1', b'GET /upload HTTP/1.1']
    finally:
        gramex.stop()
