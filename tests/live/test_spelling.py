"""Issue 8, item 1: no spelling of a URL gets around a guarded route.

The target app (tests/fixtures/access/guarded-app) has a Python url at
/admin/(.*), an auth: FileHandler at /members/(.*), and our base layer's
catch-all file route serving the app directory, where admin/secret.txt and
members/secret.txt hold unique markers. Every spelling below is sent byte for
byte over a raw socket; a test fails when a marker appears anywhere in a
response, whatever the status. Spellings that mean the same resource as the
canonical url (RFC 3986 equivalence: unreserved escapes, dot segments, merged
slashes, absolute-form) must also reach the guarded route: 503, no upstream."""
import itertools
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from access_util import CONTROL_MARKER, SECRETS, guarded_app_copy
from gxclients import raw_request
from gxhttpd import BUILD, REPO, Httpd, serving

GUARDS = ['admin', 'members']
FILE = 'secret.txt'


def encode_subsets(word, limit=None):
    """`word` with each subset of its letters percent-encoded, in lower and
    upper hex; `limit` caps the subset size for long words (bounded corpus)."""
    n = len(word)
    sizes = range(1, n + 1) if limit is None else [*range(1, limit + 1), n]
    out = []
    for k in sizes:
        for chosen in itertools.combinations(range(n), k):
            for fmt in ('%{:02x}', '%{:02X}'):
                out.append(''.join(fmt.format(ord(c)) if i in chosen else c
                                   for i, c in enumerate(word)))
    return list(dict.fromkeys(out))


def equivalent(g):
    """Spellings of /g/secret.txt that mean the same path once unreserved
    escapes are decoded, dot segments resolved and // merged."""
    out = []
    # every letter of the guarded segment encoded or not (admin: all 31 subsets;
    # members: singles, pairs and all, to keep the corpus a few hundred)
    for seg in encode_subsets(g, None if len(g) <= 5 else 2):
        out.append(f'/{seg}/{FILE}')
    # the file name's letters too, with the segment plain and encoded
    out += [f'/{g}/%73ecret.txt', f'/{g}/secret%2etxt', f'/{g}/secret%2Etxt',
            f'/%{ord(g[0]):02x}{g[1:]}/%73%65%63%72%65%74%2e%74%78%74']
    # dot segments (also %2e) and empty segments
    out += [f'/x/../{g}/{FILE}', f'/./{g}/{FILE}', f'/{g}/./{FILE}', f'/{g}/x/../{FILE}',
            f'/x/y/../../{g}/{FILE}', f'/x/%2e%2e/{g}/{FILE}', f'/x/%2E%2E/{g}/{FILE}',
            f'/x/.%2e/{g}/{FILE}', f'/x/%2e./{g}/{FILE}', f'/%2e/{g}/{FILE}',
            f'/{g}/../{g}/{FILE}', f'/{g}/%2e/{FILE}', f'/{g}/x/%2e%2e/{FILE}',
            f'//{g}/{FILE}', f'/{g}//{FILE}', f'///{g}///{FILE}', f'//./{g}/{FILE}']
    # mixed: encoded letters behind dot and empty segments
    out += [f'/x/../%{ord(g[0]):02x}{g[1:]}/{FILE}', f'//%{ord(g[0]):02X}{g[1:]}//{FILE}',
            f'/./%2e/{g[:-1]}%{ord(g[-1]):02x}/./{FILE}',
            f'/x/%2e%2e/{g[0]}%{ord(g[1]):02x}{g[2:]}/{FILE}']
    # absolute-form request target (RFC 9112 3.2.2: servers must accept it)
    out += [f'http://127.0.0.1/{g}/{FILE}', f'http://127.0.0.1/%{ord(g[0]):02x}{g[1:]}/{FILE}']
    return out


def others(g):
    """Spellings that are not the guarded url: they may be refused or miss,
    but must never serve a guarded file. {category: [target, ...]}"""
    e0 = f'%{ord(g[0]):02x}'
    hex0 = f'{ord(g[0]):02x}'
    return {
        'double-encoding': [f'/%25{hex0}{g[1:]}/{FILE}', f'/%2525{hex0}{g[1:]}/{FILE}',
                            '/%25' + ''.join(f'%{ord(c):02x}' for c in hex0) + f'{g[1:]}/{FILE}',
                            f'/x/%252e%252e/{g}/{FILE}', f'/x/%252E%252E/{g}/{FILE}',
                            f'/x/..%252f{g}/{FILE}'],
        'semicolon-params': [f'/{g};x/{FILE}', f'/{g};/{FILE}', f'/{g}/;x/{FILE}',
                             f'/{g}/{FILE};x', f'/;x/../{g}/{FILE}',
                             f'/{e0}{g[1:]};jsessionid=1/{FILE}', f'/{g}%3b/{FILE}',
                             f'/x;/../{g}/{FILE}'],
        'encoded-slash': [f'/{g}%2F{FILE}', f'/{g}%2f{FILE}', f'/%2F{g}/{FILE}', f'/%2f{g}/{FILE}',
                          f'/x/..%2F{g}/{FILE}', f'/x/..%2f{g}/{FILE}', f'/x%2F..%2F{g}/{FILE}',
                          f'/{e0}{g[1:]}%2f{FILE}', f'/x/%2e%2e%2f{g}/{FILE}'],
        'nul': [f'/{g}%00/{FILE}', f'/{g}/{FILE}%00', f'/{g}/{FILE}%00.html',
                f'/{g[:2]}%00{g[2:]}/{FILE}', f'/{g}/{FILE[:3]}%00{FILE[3:]}'],
        # httpd resolves dot segments before decoding: these name /g/secret.txt
        # (503 or a refusal are both safe; only a leak is wrong)
        'nul-in-removed-segment': [f'/%00/../{g}/{FILE}', f'/x%00/../{g}/{FILE}',
                                   f'/{g}/%00/../{FILE}'],
        'case': [f'/{g.upper()}/{FILE}', f'/{g.capitalize()}/{FILE}',
                 '/' + ''.join(c.upper() if i % 2 else c for i, c in enumerate(g)) + f'/{FILE}',
                 f'/%{ord(g[0].upper()):02X}{g[1:].upper()}/{FILE}', f'/{g}/{FILE.upper()}',
                 f'/{g.upper()}/{FILE.upper()}'],
        'backslash': [f'/{g}\\{FILE}', f'/x/..\\{g}/{FILE}', f'/x\\..\\{g}\\{FILE}',
                      f'/%5c{g}/{FILE}', f'/%5C{g}/{FILE}', f'/x/..%5c{g}/{FILE}', f'/{g}%5c{FILE}',
                      f'/\\{g}/{FILE}'],
        'trailing-dots-spaces': [f'/{g}./{FILE}', f'/{g}../{FILE}', f'/{g}%20/{FILE}',
                                 f'/{g}.%20/{FILE}', f'/{g}%09/{FILE}', f'/{g}/{FILE}.',
                                 f'/{g}/{FILE}%20', f'/{g}/{FILE}::$DATA', f'/{g}::$DATA/{FILE}',
                                 f'/{g}%2e/{FILE}', f'/{g}%20%20/{FILE}'],
        'overlong-and-unicode': [f'/%c1%a1{g[1:]}/{FILE}', f'/x/%c0%ae%c0%ae/{g}/{FILE}',
                                 f'/%u00{hex0}{g[1:]}/{FILE}', f'/%e0%81%a1{g[1:]}/{FILE}',
                                 f'/%ef%bd%{0x81 + ord(g[0]) - 97:02x}{g[1:]}/{FILE}',  # fullwidth
                                 f'/x/%c0%af../{g}/{FILE}', f'/%ef%bc%8f{g}/{FILE}'],
        'above-root': [f'/../{g}/{FILE}', f'/%2e%2e/{g}/{FILE}', f'/x/../../{g}/{FILE}',
                       f'/./../{g}/{FILE}'],
        # a query or fragment (also escaped) must not hide a dot segment
        'query-fragment': [f'/x?/../{g}/{FILE}', f'/x?y#/../../{g}/{FILE}', f'/{g}/{FILE}#x',
                           f'/x#/../{g}/{FILE}', f'/%23/../{g}/{FILE}', f'/%3f/../{g}/{FILE}',
                           f'/x%3F/../{g}/{FILE}'],
        'mixed': [f'/x/..%2F{e0}{g[1:]}/{FILE}', f'//{e0}{g[1:]};x//{FILE}',
                  f'/{e0}{g[1:]}./{FILE}',
                  f'/{g.upper()[0]}%{ord(g[1]):02X}{g[2:]}/{FILE}', f'/x/..\\{e0}{g[1:]}/{FILE}',
                  f'/%2e%2e%2f{e0}{g[1:]}/{FILE}', f'/./{g}%00/./{FILE}'],
    }


CATEGORIES = sorted(others('admin'))
CORPUS_FILE = Path(__file__).resolve().parents[1] / 'fixtures' / 'access' / 'spellings.tsv'


def corpus_rows():
    """(guard, category, target): 'equivalent' rows must reach the guard's
    url; every other row must never serve a guarded file."""
    rows = [(g, 'equivalent', t) for g in GUARDS for t in equivalent(g)]
    rows += [(g, c, t) for g in GUARDS for c in CATEGORIES for t in others(g)[c]]
    return rows


def corpus_text():
    head = ('# Generated by tests/live/test_spelling.py (python3 tests/live/test_spelling.py);\n'
            '# for core unit tests. guard<TAB>category<TAB>raw request target. Rows of\n'
            '# category "equivalent" name /GUARD/secret.txt and must match the guarded url;\n'
            '# no row may ever serve a guarded file.\n')
    return head + ''.join(f'{g}\t{c}\t{t}\n' for g, c, t in corpus_rows())


@pytest.fixture(scope='module')
def guarded():
    app = guarded_app_copy()
    with serving(f'GramexConfig "{app}/gramex.yaml"', app.parent) as h:
        yield h


def describe(bad):
    return '\n'.join(f'  {t!r} -> {s} {why}' for t, s, why in bad)


def test_corpus_is_bounded_and_complete():
    every = [t for g in GUARDS for t in equivalent(g)]
    every += [t for g in GUARDS for ts in others(g).values() for t in ts]
    assert len(set(every)) == len(every), 'duplicate spellings'
    assert 250 <= len(every) <= 500, len(every)
    # all 31 encodings of admin's letters, each in lower and upper hex where they differ
    assert '/%61%64%6d%69%6e/secret.txt' in every and '/%61%64%6D%69%6E/secret.txt' in every
    assert '/a%64min/secret.txt' in every and '/members/secret.txt' not in every


def test_corpus_file_is_current():
    """tests/fixtures/access/spellings.tsv is this corpus, for the core's unit tests."""
    assert CORPUS_FILE.read_text() == corpus_text(), 'run: python3 tests/live/test_spelling.py'


def test_corpus_through_gramex_config_match(tmp_path):
    """The same corpus through the core's request decision (`gramex-config
    match`, no httpd): equivalent spellings pick the guard's url, and no
    spelling maps to a file under a guarded directory. Absolute-form targets
    are the glue's business (it passes their path)."""
    app = tmp_path / 'app'
    shutil.copytree(REPO / 'tests' / 'fixtures' / 'access' / 'guarded-app', app)
    rows = [row for row in corpus_rows() if row[2].startswith('/')]
    out = subprocess.run([str(BUILD / 'gramex-config'), 'match', '--gramexpath', str(REPO / 'conf'),
                          str(app / 'gramex.yaml'), *[t for _, _, t in rows]],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(out) == len(rows), out[-3:]
    bad = []
    for (guard, category, target), line in zip(rows, out):
        d = json.loads(line)
        if d['file'] and any(f'/{g}/' in d['file'] for g in GUARDS):
            bad.append((target, d['action'], f"maps to {d['file']}"))
        elif category == 'equivalent' and d['url_name'] != guard:
            bad.append((target, d['action'], f"url {d['url_name']}, not {guard}"))
    assert not bad, describe(bad)


def test_control_file_is_served_and_seen(guarded):
    """The marker check can fail: the catch-all serves control.txt."""
    r = raw_request(guarded.port, '/control.txt')
    assert r.status == 200 and r.body == CONTROL_MARKER + b' served by the catch-all\n'
    r = raw_request(guarded.port, '/public.txt')
    assert r.status == 200 and r.body == b'public file\n'


@pytest.mark.parametrize('guard', GUARDS)
def test_canonical_urls_answer_503(guarded, guard):
    for target in [f'/{guard}/{FILE}', f'/{guard}/', f'/{guard}/missing.txt']:
        r = raw_request(guarded.port, target)
        assert r.status == 503, (target, r.status, r.body[:200])
        assert b'GramexUpstream' in r.body
        assert r.leaks(SECRETS) == [], target


@pytest.mark.parametrize('guard', GUARDS)
def test_equivalent_spellings_reach_the_guarded_route(guarded, guard):
    bad = []
    for target in equivalent(guard):
        r = raw_request(guarded.port, target)
        if r.leaks(SECRETS):
            bad.append((target, r.status, 'LEAKS ' + ','.join(r.leaks(SECRETS))))
        elif r.status != 503:
            bad.append((target, r.status, '(not the guarded route)'))
    leaks = sum('LEAKS' in why for _, _, why in bad)
    assert not bad, f'{len(bad)} of {len(equivalent(guard))} spellings wrong, {leaks} leak:\n' \
                    + describe(bad)


@pytest.mark.parametrize('category', CATEGORIES)
@pytest.mark.parametrize('guard', GUARDS)
def test_other_spellings_never_leak(guarded, guard, category):
    bad = []
    for target in others(guard)[category]:
        r = raw_request(guarded.port, target)
        if r.leaks(SECRETS):
            bad.append((target, r.status, 'LEAKS ' + ','.join(r.leaks(SECRETS))))
        elif r.status == 200:
            bad.append((target, r.status, 'served something'))
    assert not bad, f'{len(bad)} spellings wrong:\n' + describe(bad)


@pytest.mark.parametrize('method, version', [
    ('HEAD', 'HTTP/1.1'), ('POST', 'HTTP/1.1'), ('OPTIONS', 'HTTP/1.1'), ('PUT', 'HTTP/1.1'),
    ('GET', 'HTTP/1.0'), ('GET', None),     # None: HTTP/0.9, no status line, body only
])
def test_other_methods_and_versions_never_leak(guarded, method, version):
    bad = []
    for g in GUARDS:
        for target in [f'/{g}/{FILE}', f'/%{ord(g[0]):02x}{g[1:]}/{FILE}', f'/{g}\\{FILE}',
                       f'/x/../%{ord(g[0]):02X}{g[1:]}/{FILE}']:
            r = raw_request(guarded.port, target, method=method, version=version)
            if r.leaks(SECRETS):
                bad.append((target, r.status, 'LEAKS ' + ','.join(r.leaks(SECRETS))))
    assert not bad, f'{method} {version}:\n' + describe(bad)


@pytest.mark.parametrize('category', ['encoded-slash', 'nul'])
@pytest.mark.parametrize('guard', GUARDS)
def test_encoded_slash_and_nul_are_refused(guarded, guard, category):
    """As httpd refuses them by default (AllowEncodedSlashes Off; NUL): 404
    (400 accepted), never a route's answer."""
    bad = []
    for target in others(guard)[category]:
        r = raw_request(guarded.port, target)
        if r.status not in (400, 404):
            bad.append((target, r.status, '(not refused)'))
    assert not bad, describe(bad)


if __name__ == '__main__':
    CORPUS_FILE.write_text(corpus_text())


def random_spellings(seed, count):
    """Seeded (repeatable) mixes of the corpus's tricks, several per target:
    escapes in either case, double escapes, case, and dot, empty, ';',
    backslash, '%2f', NUL and trailing-dot segments."""
    rnd = random.Random(seed)
    inserts = ['/./', '//', '/x/../', '/%2e/', '/x/%2e%2e/', ';', '/.%2e/', '\\', '%5c', '%2f',
               '%00', '.', '%20', '/..;/', '/;/']

    def spell(c):
        r = rnd.random()
        return (f'%{ord(c):02x}' if r < 0.3 else f'%{ord(c):02X}' if r < 0.4 else
                f'%25{ord(c):02x}' if r < 0.45 else c.upper() if r < 0.5 else c)
    out = []
    for _ in range(count):
        target = ''.join(rnd.choice(inserts) if c == '/' and rnd.random() < 0.3
                         else c if c == '/' else spell(c)
                         for c in f'/{rnd.choice(GUARDS)}/{FILE}')
        target = target if target.startswith('/') else '/' + target
        out.append(('http://127.0.0.1' if rnd.random() < 0.1 else '') + target)
    return out


def test_seeded_random_spellings_never_leak(guarded):
    bad = []
    for target in random_spellings(seed=8, count=600):
        r = raw_request(guarded.port, target)
        if r.leaks(SECRETS):
            bad.append((target, r.status, 'LEAKS ' + ','.join(r.leaks(SECRETS))))
    assert not bad, describe(bad)


@pytest.mark.parametrize('setting', ['AllowEncodedSlashes On', 'AllowEncodedSlashes NoDecode',
                                     'MergeSlashes Off'])
def test_no_spelling_leaks_under_the_admins_path_settings(setting):
    """httpd settings that change how it decodes or merges the path must not
    open a way around the guarded urls."""
    app = guarded_app_copy()
    h = Httpd(f'GramexConfig "{app}/gramex.yaml"\n{setting}')
    try:
        h.start()
        bad = []
        for guard, category, target in corpus_rows():
            r = raw_request(h.port, target)
            if r.leaks(SECRETS):
                bad.append((target, r.status, 'LEAKS ' + ','.join(r.leaks(SECRETS))))
        assert not bad, f'{setting}:\n' + describe(bad)
    finally:
        h.cleanup()
        shutil.rmtree(app.parent, ignore_errors=True)
