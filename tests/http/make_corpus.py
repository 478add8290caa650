#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Write the fuzzer's seed corpus, tests/data/http/corpus/<name>, from the
request bytes of every tests/data/http/<name>.http wire test.
Usage: tests/http/make_corpus.py"""
import os
import re

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                    "http")


def request_bytes(path):
    text = []
    in_req = False
    for line in open(path, encoding="utf-8").read().split("\n"):
        if line.startswith("#"):
            continue
        if line.startswith("request:"):
            in_req = True
            continue
        if re.match(r"(expect|body|header):|head$", line):
            in_req = False
            continue
        if in_req:
            text.append(line)
    s = "".join(text)
    out = bytearray()
    i = 0
    while i < len(s):
        if s[i] == "\\":
            c = s[i + 1]
            if c == "x":
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"r": b"\r", "n": b"\n", "t": b"\t", "\\": b"\\"}[c]
            i += 2
            continue
        out += s[i].encode()
        i += 1
    return bytes(out)


def main():
    corpus = os.path.join(DATA, "corpus")
    os.makedirs(corpus, exist_ok=True)
    for fn in sorted(os.listdir(DATA)):
        if fn.endswith(".http"):
            with open(os.path.join(corpus, fn[:-5]), "wb") as f:
                f.write(request_bytes(os.path.join(DATA, fn)))


if __name__ == "__main__":
    main()
