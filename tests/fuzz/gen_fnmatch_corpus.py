#!/usr/bin/python3
"""Write tests/fuzz/fnmatch_corpus.tsv: generated allow/ignore patterns and
paths with Python's own answers, for tests/unit/test_pathrule.c.

Each line: pattern (hex) TAB path (hex) TAB gramex TAB fnmatchcase, where
gramex = fnmatch(path.lower(), "*/" + pattern.lower()) (spec f.5) and
fnmatchcase = fnmatch.fnmatchcase(path, "*" + pattern). Bytes are decoded as
Python decodes file names (UTF-8, surrogateescape). Only characters whose
lowercase is their ASCII lowercase are used (see docs/decisions.md: the
matcher folds ASCII only).
"""
import fnmatch
import os
import random

ALPHABET = list("abzAZ09_-!^][*?/.\\~&|") + ["é", "中", "ß", "\udcff", "\udc80", "😀"]
WEIGHTS = [3, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]


def word(rng, lo, hi):
    return "".join(rng.choices(ALPHABET, WEIGHTS, k=rng.randint(lo, hi)))


def instance(rng, pat):
    """A path likely to match: wildcards filled at random, case flipped."""
    out = []
    for c in pat:
        if c == "*":
            out.append(word(rng, 0, 3))
        elif c in "?[]!":
            out.append(rng.choice(ALPHABET))
        else:
            out.append(c.upper() if c.isascii() and rng.random() < 0.3 else c)
    return "/" + word(rng, 0, 2) + "/" + "".join(out)


def enc(s):
    return s.encode("utf-8", "surrogateescape").hex()


def main():
    rng = random.Random(11)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fnmatch_corpus.tsv")
    seen = set()
    with open(out, "w") as f:
        while len(seen) < 3000:
            pat = word(rng, 1, 8)
            path = instance(rng, pat) if rng.random() < 0.6 else "/" + word(rng, 0, 9)
            if (pat, path) in seen:
                continue
            seen.add((pat, path))
            gramex = fnmatch.fnmatchcase(path.lower(), "*/" + pat.lower())
            case = fnmatch.fnmatchcase(path, "*" + pat)
            f.write(f"{enc(pat)}\t{enc(path)}\t{int(gramex)}\t{int(case)}\n")


if __name__ == "__main__":
    main()
