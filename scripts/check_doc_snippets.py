#!/usr/bin/env python3
"""check_doc_snippets.py: compiles every C++ code block of the given Markdown files and checks
the output a page shows for a program.

Usage: check_doc_snippets.py --cxx CXX --work DIR --prelude HEADER [-I DIR]... [--link ARGS]
                             FILE.md...

Each ```cpp block is one of:
  - a program (it defines `int main(`): compiled, syntax only; when the block is followed by a
    paragraph starting with "Output" and then a fenced block, it is linked with --link and run,
    and its output (stdout then stderr) must equal that block line by line, with the digits of
    "time_unix_nano" values ignored.
  - a top-level fragment (a line starting with `namespace NAME {`, `class ` or `struct `):
    compiled, syntax only, at file scope after the prelude header.
  - a statement fragment (anything else): its #include lines are hoisted to the top and the
    rest is compiled, syntax only, as the body of a function in which the prelude's names
    (doc_prelude::log, options, attempt, ...) stand for the page's surrounding code. The
    fragment's own declarations shadow them.
Blocks marked ```cpp nocompile (or ```cpp-nocompile) are skipped: use it only for text that
is not meant to be C++ on its own (a signature summary, a diff).
Exits non-zero, naming file and line, when any block fails.
"""
import argparse
import os
import re
import subprocess
import sys

PRELUDE_NAMES = ["log", "options", "attempt", "max_attempts", "amount", "currency",
                 "expensive_dump", "code_under_test", "charge", "order", "card"]


def blocks(path):
    """Yields (line, info, code, shown_output) for each fenced block of a file."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    found = []
    while i < len(lines):
        m = re.match(r"^```(\S*)(?:\s+(\S+))?\s*$", lines[i])
        if not m:
            i += 1
            continue
        lang, flag = m.group(1), m.group(2) or ""
        start = i + 1
        j = start
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        found.append({"line": start, "lang": lang, "flag": flag, "code": lines[start:j], "end": j})
        i = j + 1
    # Attach shown output: a paragraph starting with "Output" right after a cpp block, then a block.
    for k, b in enumerate(found):
        b["output"] = None
        if b["lang"] != "cpp" or k + 1 >= len(found):
            continue
        between = lines[b["end"] + 1:found[k + 1]["line"] - 1]
        text = [l for l in between if l.strip()]
        if len(text) == 1 and text[0].startswith("Output"):
            b["output"] = found[k + 1]["code"]
    return [b for b in found if b["lang"] in ("cpp", "cpp-nocompile")]


def kind(code):
    text = "\n".join(code)
    if re.search(r"\bint\s+main\s*\(", text):
        return "program"
    if re.search(r"^(namespace\s+\w+\s*\{|class\s|struct\s)", text, re.M):
        return "toplevel"
    return "statements"


def source_for(code, k, prelude):
    if k == "program":
        return "\n".join(code) + "\n"
    includes = [l for l in code if l.startswith("#include")]
    body = [l for l in code if not l.startswith("#include")]
    head = "\n".join([f'#include "{prelude}"'] + includes) + "\n"
    if k == "toplevel":
        return head + "namespace dl = dagstack::logger;\n" + "\n".join(body) + "\n"
    uses = "".join(f"  using doc_prelude::{n};\n" for n in PRELUDE_NAMES)
    return (head + "namespace dl = dagstack::logger;\n"
            "[[maybe_unused]] static void doc_snippet() {\n" + uses + "  {\n" +
            "\n".join(body) + "\n  }\n}\n")


def normalise(lines):
    out = [re.sub(r'"time_unix_nano":\d+', '"time_unix_nano":N', l.rstrip()) for l in lines]
    while out and not out[-1]:
        out.pop()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cxx", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--prelude", required=True)
    ap.add_argument("-I", dest="includes", action="append", default=[])
    ap.add_argument("--link", default="")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    flags = ["-std=c++20", "-Wall", "-Wextra", "-Werror", "-Wno-unused-variable",
             "-Wno-unused-but-set-variable", "-Wno-missing-field-initializers"] + [f"-I{d}" for d in args.includes]
    failures = 0
    count = 0
    for path in args.files:
        for b in blocks(path):
            where = f"{path}:{b['line']}"
            if b["lang"] == "cpp-nocompile" or b["flag"] == "nocompile":
                print(f"skip  {where} (nocompile)")
                continue
            k = kind(b["code"])
            name = re.sub(r"[^A-Za-z0-9]+", "_", where)
            src = os.path.join(args.work, name + ".cpp")
            with open(src, "w", encoding="utf-8") as f:
                f.write(source_for(b["code"], k, args.prelude))
            count += 1
            if k == "program" and b["output"] is not None:
                exe = os.path.join(args.work, name)
                cmd = [args.cxx] + flags + [src, "-o", exe] + args.link.split()
            else:
                cmd = [args.cxx] + flags + ["-fsyntax-only", src]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                failures += 1
                print(f"FAIL  {where} ({k}): does not compile\n{r.stderr[:4000]}")
                continue
            if k == "program" and b["output"] is not None:
                run = subprocess.run([exe], capture_output=True, text=True, timeout=60,
                                     stdin=subprocess.DEVNULL)
                got = normalise((run.stdout + run.stderr).split("\n"))
                want = normalise(b["output"])
                if run.returncode != 0 or got != want:
                    failures += 1
                    print(f"FAIL  {where}: shown output differs (exit {run.returncode})\n"
                          "--- shown\n" + "\n".join(want) + "\n--- actual\n" + "\n".join(got))
                    continue
                print(f"ok    {where} ({k}, output checked)")
            else:
                print(f"ok    {where} ({k})")
    print(f"{count} blocks compiled, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
