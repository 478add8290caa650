#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Check that the docs match the headers and that their examples work.

1. Collect every CORIO_API function declared in include/corio/*.h.
2. Each needs a page in docs/api/ whose SYNOPSIS holds the same prototype
   (compared token by token, so only whitespace may differ; the CORIO_API
   export macro may be left out), and every prototype in a SYNOPSIS must
   be declared in a header.
3. Each page has front matter (Added-in, See-also) and the sections NAME,
   SYNOPSIS, DESCRIPTION, SUSPENDS, RETURN VALUE, ERRORS, EXAMPLE in that
   order; SUSPENDS carries the tag "Suspends; cancellation point." or
   "Never suspends."; NAME lists the functions of the SYNOPSIS; See-also
   names documented functions or pages; docs/api/README.md links the page.
   In the headers, the comment above each CORIO_API declaration (or above
   the group it belongs to) says whether it suspends: "Suspends" or
   "Never suspends" (corio's rule: a caller must know).
4. Every example in docs/ (recursively) is compiled with -Wall -Wextra
   -Werror -std=gnu11 against the headers and libcorio.a, run with a 10 s
   time limit, and must exit 0. An example is a ```c block in a section
   whose heading is EXAMPLE, or a ```c block right after the line
   <!-- example -->.
   Examples that include <corio/tls.h> link libcorio_tls.a (--tls-lib)
   and OpenSSL, and find a CA and certificates made by the openssl
   command in their working directory (ca.pem, server.pem, server.key,
   client.pem, client.key); without --tls-lib they are skipped.
   Examples that include <corio/pg.h> link libcorio_pg.a (--pg-lib) and
   libpq, and run with CORIO_PG_DSN from --pg-dsn-file (the throwaway
   cluster of the CTest fixture "pg") unless it is set; without --pg-lib
   they are skipped, and without a server they print so and exit 0.
   Examples that include <corio/http.h>, <corio/http_server.h> or
   <corio/http_client.h> link libcorio_http.a (--http-lib), then
   libcorio_tls.a if --tls-lib is given (corio_http uses it for HTTPS),
   and what --http-libs names (libcurl, OpenSSL) after libcorio.a; without
   --http-lib they are skipped, and so are those that use the client
   (corio_http_session_*) when --no-http-client says it was not built.

The examples/*.c programs are not checked here: CMake builds and runs them.

Usage: tools/check-docs.py --lib build/libcorio.a [--cc gcc] [-v]
           [--tls-lib ...] [--pg-lib ...] [--http-lib ...]
       tools/check-docs.py --only-symbols
Exits 0 when everything passes, 1 on any failure, 2 on bad usage.
"""

import argparse
import concurrent.futures
import os
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "SUSPENDS", "RETURN VALUE",
            "ERRORS", "EXAMPLE"]
RUN_TIMEOUT = 10  # seconds per example
CFLAGS = ["-Wall", "-Wextra", "-Werror", "-std=gnu11"]

TOKEN = re.compile(r"[A-Za-z_]\w*|\d+|\.\.\.|\S")
FENCE = re.compile(r"^(```|~~~)\s*(\S*)\s*$")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
HTTP_INCLUDE = re.compile(r"#\s*include\s*<corio/http(_server|_client)?\.h>")


def uses_http(text):
    """Whether an example includes one of corio_http's headers."""
    return HTTP_INCLUDE.search(text) is not None


def uses_http_client(text):
    """Whether an example uses the HTTP client (which needs libcurl)."""
    return "corio_http_session_new" in text


def show(path):
    """A path for messages: relative to the current directory when it lies
    below it, else absolute."""
    rel = os.path.relpath(path)
    return os.path.abspath(path) if rel.startswith("..") else rel


def strip_c(text):
    """Remove comments and preprocessor lines (with continuations) from C
    text, keeping line breaks so that line numbers stay right."""
    text = re.sub(r"/\*.*?\*/",
                  lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    out = []
    cont = False
    for line in text.split("\n"):
        if cont or line.lstrip().startswith("#"):
            cont = line.rstrip().endswith("\\")
            out.append("")
        else:
            out.append(line)
    return "\n".join(out)


def tokens(decl):
    """A declaration as a tuple of tokens, without CORIO_API."""
    return tuple(t for t in TOKEN.findall(decl) if t != "CORIO_API")


def func_name(toks):
    """The declared function's name: the identifier before the first '('
    (no corio function returns a function pointer; parameters that are
    function pointers come after the name)."""
    if "(" not in toks:
        return None
    i = toks.index("(")
    return toks[i - 1] if i > 0 and re.match(r"[A-Za-z_]", toks[i - 1]) \
        else None


def pretty(toks):
    s = " ".join(toks)
    s = re.sub(r"\s*([(),;])\s*", lambda m: m.group(1) +
               (" " if m.group(1) == "," else ""), s)
    s = s.replace("* ", "*")
    return s


def header_decls(incdir):
    """{name: (tokens, 'file:line')} for every CORIO_API function."""
    decls = {}
    hdir = os.path.join(incdir, "corio")
    for fn in sorted(os.listdir(hdir)):
        if not fn.endswith(".h"):
            continue
        path = os.path.join(hdir, fn)
        with open(path, encoding="utf-8") as f:
            text = strip_c(f.read())
        for m in re.finditer(r"\bCORIO_API\b([^;{}]*);", text):
            toks = tokens(m.group(1))
            name = func_name(toks)
            line = text.count("\n", 0, m.start()) + 1
            where = "%s:%d" % (show(path), line)
            if name is None:
                raise SystemExit("%s: cannot parse declaration: %s"
                                 % (where, m.group(0)))
            decls[name] = (toks, where)
    return decls


SUSPEND_TAG = re.compile(r"\b[Nn]ever\s+suspends?\b|\b[Ss]uspends\b")


def untagged_decls(incdir):
    """['file:line: name'] for each CORIO_API function whose comment
    (the last comment before it) does not say whether it suspends."""
    bad = []
    hdir = os.path.join(incdir, "corio")
    for fn in sorted(os.listdir(hdir)):
        if not fn.endswith(".h"):
            continue
        path = os.path.join(hdir, fn)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for m in re.finditer(r"\bCORIO_API\b[^;{}]*?\b(corio_\w+)\s*\(",
                             text):
            before = text[:m.start()]
            end = before.rfind("*/")
            start = before.rfind("/*", 0, end) if end >= 0 else -1
            comment = re.sub(r"\s*\n\s*\*\s*", " ",
                             before[start:end]) if start >= 0 else ""
            if not SUSPEND_TAG.search(comment):
                line = text.count("\n", 0, m.start()) + 1
                bad.append("%s:%d: %s" % (show(path), line, m.group(1)))
    return bad


class Page:
    """A markdown file split into front matter, sections and code blocks."""

    def __init__(self, path):
        self.path = path
        self.rel = show(path)
        with open(path, encoding="utf-8") as f:
            self.lines = f.read().split("\n")
        self.front = {}
        self.headings = []  # (level, title, line index)
        self.blocks = []    # (lang, first line no., text, heading, marked)
        self._parse()

    def _parse(self):
        lines = self.lines
        i = 0
        if lines and lines[0].strip() == "---":
            for j in range(1, len(lines)):
                if lines[j].strip() == "---":
                    for fl in lines[1:j]:
                        if ":" in fl:
                            k, v = fl.split(":", 1)
                            self.front[k.strip()] = v.strip()
                    i = j + 1
                    break
        heading = None
        prev = ""  # last non-blank line outside code blocks
        while i < len(lines):
            line = lines[i]
            fm = FENCE.match(line)
            if fm:
                fence, lang = fm.group(1), fm.group(2).lower()
                start = i + 1
                i += 1
                while i < len(lines) and not lines[i].startswith(fence):
                    i += 1
                marked = prev.strip() == "<!-- example -->"
                self.blocks.append((lang, start + 1,
                                    "\n".join(lines[start:i]), heading,
                                    marked))
                prev = line
                i += 1
                continue
            hm = HEADING.match(line)
            if hm:
                heading = hm.group(2)
                self.headings.append((len(hm.group(1)), heading, i))
            if line.strip():
                prev = line
            i += 1

    def section(self, title):
        """The text lines of a top-level section, or None."""
        for n, (level, t, at) in enumerate(self.headings):
            if t == title:
                end = len(self.lines)
                for level2, _, at2 in self.headings[n + 1:]:
                    if level2 <= level:
                        end = at2
                        break
                return self.lines[at + 1:end]
        return None

    def examples(self):
        return [(line, text) for lang, line, text, heading, marked
                in self.blocks
                if lang == "c" and (marked or heading == "EXAMPLE")]


class Checker:
    def __init__(self, args):
        self.args = args
        self.failures = 0
        self.tls_ready = False

    def fail(self, where, msg):
        self.failures += 1
        print("FAIL %s: %s" % (where, msg))

    def note(self, msg):
        if self.args.verbose:
            print("  " + msg)

    def check_symbols(self, decls, apidir):
        pages = {}
        for fn in sorted(os.listdir(apidir)):
            if fn.endswith(".md") and fn != "README.md":
                pages[fn[:-3]] = Page(os.path.join(apidir, fn))
        documented = {}  # function -> page
        mentioned = set()  # functions with a prototype in some SYNOPSIS
        for name, page in pages.items():
            self.check_page_layout(page)
            syn = self.synopsis(page)
            for toks, line in syn:
                fname = func_name(toks)
                where = "%s:%d" % (page.rel, line)
                if fname is None:
                    self.fail(where, "not a prototype: %s" % pretty(toks))
                    continue
                if fname not in decls:
                    self.fail(where, "%s is not declared in any header"
                              % fname)
                    continue
                mentioned.add(fname)
                htoks, hwhere = decls[fname]
                if toks != htoks:
                    self.fail(where, "prototype differs from %s:\n"
                              "    page:   %s\n    header: %s"
                              % (hwhere, pretty(toks), pretty(htoks)))
                    continue
                if fname in documented:
                    self.fail(where, "%s is also documented in %s"
                              % (fname, documented[fname].rel))
                documented[fname] = page
                self.note("%s: %s" % (fname, page.rel))
            self.check_name(page, [func_name(t) for t, _ in syn])
        for name, (_, hwhere) in sorted(decls.items()):
            if name not in mentioned:
                self.fail(hwhere, "%s has no page in %s" %
                          (name, show(apidir)))
        self.check_see_also(pages, documented)
        self.check_index(apidir, pages)
        return len(pages), len(documented)

    def check_page_layout(self, page):
        if "Added-in" not in page.front:
            self.fail(page.rel, "front matter lacks Added-in")
        see = page.front.get("See-also")
        if see is None or not re.fullmatch(r"\[[^\]]*\]", see):
            self.fail(page.rel, "front matter lacks See-also: [...]")
        top = [t for level, t, _ in page.headings if level == 1]
        want = [s for s in top if s in SECTIONS]
        missing = [s for s in SECTIONS if s not in top]
        if missing:
            self.fail(page.rel, "missing sections: %s" % ", ".join(missing))
        elif want != SECTIONS:
            self.fail(page.rel, "sections out of order: %s" % ", ".join(want))
        if page.section("EXAMPLE") is not None and not page.examples():
            self.fail(page.rel, "EXAMPLE has no ```c block")
        sus = page.section("SUSPENDS")
        if sus is not None:
            text = " ".join(sus)
            if not re.search(r"Suspends; cancellation point\.|"
                             r"Never suspends?\.", text):
                self.fail(page.rel, "SUSPENDS must say \"Suspends; "
                          "cancellation point.\" or \"Never suspends.\"")

    def synopsis(self, page):
        """[(tokens, line)] for each declaration in the SYNOPSIS block."""
        out = []
        blocks = [b for b in page.blocks if b[3] == "SYNOPSIS"]
        if len(blocks) != 1 or blocks[0][0] != "c":
            self.fail(page.rel, "SYNOPSIS needs exactly one ```c block")
            return out
        _, first, text, _, _ = blocks[0]
        if "#include <corio.h>" not in text:
            self.fail("%s:%d" % (page.rel, first),
                      "SYNOPSIS lacks #include <corio.h>")
        code = strip_c(text)
        end = 0
        for m in re.finditer(r"[^;]*;", code):
            part = m.group(0)[:-1]
            end = m.end()
            if part.strip():
                at = m.start() + len(part) - len(part.lstrip())
                out.append((tokens(part), first + code.count("\n", 0, at)))
        if code[end:].strip():
            self.fail("%s:%d" % (page.rel, first),
                      "SYNOPSIS text after the last ';'")
        return out

    def check_name(self, page, names):
        body = " ".join(page.section("NAME") or [])
        head = body.split(" - ")[0]
        listed = [n.strip() for n in head.split(",")]
        for n in names:
            if n and n not in listed:
                self.fail(page.rel, "NAME does not list %s" % n)
        if " - " not in body:
            self.fail(page.rel, "NAME needs \"names - summary\"")

    def check_see_also(self, pages, documented):
        for page in pages.values():
            see = page.front.get("See-also", "")
            for ref in re.findall(r"[A-Za-z_]\w*", see):
                if ref not in documented and ref not in pages:
                    self.fail(page.rel, "See-also names unknown %s" % ref)

    def check_index(self, apidir, pages):
        path = os.path.join(apidir, "README.md")
        if not os.path.exists(path):
            self.fail(show(path), "missing")
            return
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for name in pages:
            if "(%s.md)" % name not in text:
                self.fail(show(path), "does not link %s.md" % name)

    def collect_examples(self, docsdir):
        found = []
        for dirpath, dirnames, filenames in os.walk(docsdir):
            dirnames.sort()
            for fn in sorted(filenames):
                if fn.endswith(".md"):
                    page = Page(os.path.join(dirpath, fn))
                    for line, text in page.examples():
                        found.append(("%s:%d" % (page.rel, line), text))
        return found

    def build_and_run(self, n, where, text, tmp):
        a = self.args
        base = os.path.join(tmp, "ex%03d" % n)
        src = base + ".c"
        with open(src, "w", encoding="utf-8") as f:
            file, line = where.rsplit(":", 1)
            f.write("#line %s \"%s\"\n%s\n" % (line, file, text))
        tls = "corio/tls.h" in text
        pg = "corio/pg.h" in text
        http = uses_http(text)
        # corio_http calls corio_tls where it was built with it: its
        # archive goes first, then corio_tls's, then the core's.
        tls_link = tls or (http and bool(a.tls_lib))
        cmd = (shlex.split(a.cc) + CFLAGS + shlex.split(a.cflags) +
               ["-I", a.include, "-o", base, src] +
               ([a.http_lib] if http else []) +
               ([a.tls_lib] if tls_link else []) +
               ([a.pg_lib] if pg else []) + [a.lib] +
               (shlex.split(a.http_libs) if http else []) +
               (shlex.split(a.tls_libs) if tls_link else []) +
               (shlex.split(a.pg_libs) if pg else []) +
               ["-lpthread", "-lm"])
        env = dict(os.environ)
        if pg and not env.get("CORIO_PG_DSN") and a.pg_dsn_file and \
                os.path.exists(a.pg_dsn_file):
            with open(a.pg_dsn_file, encoding="utf-8") as f:
                env["CORIO_PG_DSN"] = f.read().strip()
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            return "does not compile:\n" + r.stdout
        try:
            r = subprocess.run(shlex.split(a.run_with) + [base], cwd=tmp,
                               env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            return "did not finish within %d s" % RUN_TIMEOUT
        if r.returncode != 0:
            return "exited with %d; output:\n%s" % (r.returncode, r.stdout)
        return None

    def make_certs(self, tmp):
        """The TLS examples' files, made with the openssl command: a CA,
        a server certificate for localhost and 127.0.0.1, a client one."""
        def ssl(*args):
            subprocess.run(["openssl"] + list(args), cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-nodes"]
        with open(os.path.join(tmp, "ext.cnf"), "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        ssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=corio docs CA")
        for name, cn in (("server", "localhost"), ("client", "docs client")):
            ssl("req", *ec, "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", "/CN=" + cn)
            ssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem",
                "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                "-extfile", "ext.cnf", "-out", name + ".pem")

    def check_examples(self, docsdir):
        examples = self.collect_examples(docsdir)
        with tempfile.TemporaryDirectory(prefix="corio-docs-") as tmp:
            self.tls_ready = False
            if self.args.tls_lib:
                try:
                    self.make_certs(tmp)
                    self.tls_ready = True
                except (OSError, subprocess.CalledProcessError) as e:
                    print("check-docs: TLS examples skipped: openssl: %s"
                          % e)
            if not self.tls_ready:
                skipped = [w for w, t in examples if "corio/tls.h" in t]
                examples = [(w, t) for w, t in examples
                            if "corio/tls.h" not in t]
                if skipped:
                    print("check-docs: %d TLS examples skipped (no "
                          "--tls-lib)" % len(skipped))
            if not self.args.pg_lib:
                skipped = [w for w, t in examples if "corio/pg.h" in t]
                examples = [(w, t) for w, t in examples
                            if "corio/pg.h" not in t]
                if skipped:
                    print("check-docs: %d PostgreSQL examples skipped (no "
                          "--pg-lib)" % len(skipped))
            if not self.args.http_lib:
                skipped = [w for w, t in examples if uses_http(t)]
                examples = [(w, t) for w, t in examples if not uses_http(t)]
                if skipped:
                    print("check-docs: %d HTTP examples skipped (no "
                          "--http-lib)" % len(skipped))
            elif self.args.no_http_client:
                skipped = [w for w, t in examples
                           if uses_http(t) and uses_http_client(t)]
                examples = [(w, t) for w, t in examples
                            if not (uses_http(t) and uses_http_client(t))]
                if skipped:
                    print("check-docs: %d HTTP client examples skipped "
                          "(--no-http-client)" % len(skipped))
            with concurrent.futures.ThreadPoolExecutor(self.args.jobs) as ex:
                futs = [ex.submit(self.build_and_run, n, where, text, tmp)
                        for n, (where, text) in enumerate(examples)]
                for (where, _), fut in zip(examples, futs):
                    err = fut.result()
                    if err:
                        self.fail(where, "example " + err.rstrip())
                    else:
                        self.note("example %s: ok" % where)
        return len(examples)


def main():
    p = argparse.ArgumentParser(
        description="Check docs/api against the headers and run the "
                    "examples in docs/.")
    p.add_argument("--cc", default="cc", help="C compiler (default cc)")
    p.add_argument("--include", default=os.path.join(ROOT, "include"),
                   help="the public include directory")
    p.add_argument("--lib", help="path to libcorio.a")
    p.add_argument("--docs", default=os.path.join(ROOT, "docs"),
                   help="the docs directory")
    p.add_argument("--tls-lib",
                   help="path to libcorio_tls.a, for the TLS examples")
    p.add_argument("--tls-libs", default="-lssl -lcrypto",
                   help="what the TLS examples link after libcorio.a")
    p.add_argument("--pg-lib",
                   help="path to libcorio_pg.a, for the PostgreSQL examples")
    p.add_argument("--pg-libs", default="-lpq -lssl",
                   help="what the PostgreSQL examples link after libcorio.a")
    p.add_argument("--http-lib",
                   help="path to libcorio_http.a, for the HTTP examples")
    p.add_argument("--http-libs", default="-lcurl -lssl -lcrypto",
                   help="what the HTTP examples link after libcorio.a")
    p.add_argument("--no-http-client", action="store_true",
                   help="corio_http was built without its client: skip the "
                        "examples that use it")
    p.add_argument("--pg-dsn-file",
                   help="a file holding the CORIO_PG_DSN of the examples")
    p.add_argument("--cflags", default="",
                   help="extra compiler flags, e.g. -fsanitize=address")
    p.add_argument("--run-with", default="",
                   help="command to run examples under (an emulator)")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                   help="examples to build and run at once")
    p.add_argument("--only-symbols", action="store_true",
                   help="check pages against the headers; skip examples")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args()
    if not a.only_symbols and not a.lib:
        p.error("--lib is required unless --only-symbols is given")
    if a.lib and not os.path.exists(a.lib):
        p.error("no such library: %s" % a.lib)
    for lib in (a.tls_lib, a.http_lib):
        if lib and not os.path.exists(lib):
            p.error("no such library: %s" % lib)

    c = Checker(a)
    decls = header_decls(a.include)
    npages, ndoc = c.check_symbols(decls, os.path.join(a.docs, "api"))
    for where in untagged_decls(a.include):
        c.fail(where, "the header comment does not say whether it "
               "suspends (\"Suspends...\" or \"Never suspends.\")")
    summary = "%d CORIO_API functions, %d documented in %d pages" % (
        len(decls), ndoc, npages)
    if not a.only_symbols:
        nex = c.check_examples(a.docs)
        summary += ", %d examples built and run" % nex
    print("check-docs: %s: %s" % (summary, "%d failure%s" % (
        c.failures, "" if c.failures == 1 else "s") if c.failures
        else "all passed"))
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
