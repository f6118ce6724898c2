#!/usr/bin/env python3
"""The module graph of a crate's src/: which file uses which (through `crate::` paths and
`super::`), its strongly connected components (import cycles), and rule checks.

Usage: module_graph.py SRC_DIR [--check]
Prints the largest cycle and the files over 400 lines. With --check, exits 1 when a module
under platform/ uses axum or a feature module, or when a feature uses server.rs or router.rs.
"""
import os
import re
import sys

FEATURES = {"auth", "users", "items", "files", "notifications", "devices", "jobs", "operations", "push"}


def modules(src):
    """Maps each module path (tuple of names) to its file."""
    found = {}
    for root, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src)[:-3].split(os.sep)
            if rel[-1] in ("mod", "lib", "main"):
                rel = rel[:-1]
            found[tuple(rel)] = path
    return found


def strip_comments(text):
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    # An inline test module (this code base keeps it last in its file) is not the file's
    # dependency, and its `super::` means the file itself.
    return re.split(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text, maxsplit=1)[0]


def referenced_paths(text, here):
    """Module paths a file refers to, resolved against `here` for `super::` and `self::`, and
    through the names its `use` items bring in (`use crate::users;` then `users::service::f`)."""
    refs = []
    aliases = {}
    # `use` trees: expand one level of braces, enough for this code base's style.
    for use in re.finditer(r"\buse\s+([^;]+);", text):
        tree = re.sub(r"\s+", "", use.group(1))
        for path in expand(tree):
            refs.append(path)
            parts = path.split("::")
            if parts[0] in ("crate", "super", "self") and len(parts) > 1:
                aliases[parts[-1]] = path
    for path in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", text):
        refs.append(path.group(1))
    for name, target in aliases.items():
        for path in re.finditer(r"(?<![:\w])" + re.escape(name) + r"((?:::\w+)+)", text):
            refs.append(target + path.group(1))
    out = []
    for ref in refs:
        parts = ref.split("::")
        if parts[0] == "crate":
            out.append(tuple(parts[1:]))
        elif parts[0] in ("super", "self"):
            base = list(here)
            while parts and parts[0] in ("super", "self"):
                if parts[0] == "super" and base:
                    base.pop()
                parts = parts[1:]
            out.append(tuple(base + parts))
    return out


def expand(tree):
    match = re.match(r"^(.*?)::\{(.*)\}$", tree)
    if not match:
        return [tree.split(" as ")[0]]
    prefix, inner = match.groups()
    items, depth, current = [], 0, ""
    for ch in inner:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    items.append(current)
    out = []
    for item in items:
        if not item:
            continue
        if item == "self":
            out.append(prefix)
        else:
            out.extend(expand(f"{prefix}::{item}"))
    return out


def resolve(ref, mods):
    """The longest module prefix of `ref` that is a file."""
    for n in range(len(ref), 0, -1):
        if ref[:n] in mods:
            return ref[:n]
    return None


def graph(src):
    mods = modules(src)
    edges = {m: set() for m in mods}
    texts = {}
    for mod, path in mods.items():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        texts[mod] = text
        # `self::` is the module itself and `super::` its parent, whether it is `x.rs` or
        # `x/mod.rs`.
        for ref in referenced_paths(strip_comments(text), mod):
            target = resolve(ref, mods)
            if target is not None and target != mod:
                edges[mod].add(target)
    return mods, edges, texts


def sccs(edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    for v in edges:
        if v not in index:
            visit(v)
    return out


def name(mod):
    return "::".join(mod) or "lib"


def main():
    src = sys.argv[1]
    check = "--check" in sys.argv
    mods, edges, texts = graph(src)
    comps = sorted(sccs(edges), key=len, reverse=True)
    largest = comps[0] if comps else []
    print(f"modules: {len(mods)}; largest import cycle: {len(largest) if len(largest) > 1 else 0} files")
    if len(largest) > 1:
        print("  " + ", ".join(sorted(name(m) for m in largest)))
    long_files = sorted(
        (sum(1 for _ in open(p, encoding="utf-8")), os.path.relpath(p, src))
        for p in mods.values()
    )
    over = [(n, p) for n, p in long_files if n > 400]
    print(f"files over 400 lines: {len(over)}" + "".join(f"\n  {n} {p}" for n, p in over))
    if not check:
        return 0
    problems = []
    for mod, text in texts.items():
        if mod[:1] == ("platform",):
            if re.search(r"\baxum\b", strip_comments(text)):
                problems.append(f"{name(mod)} uses axum (the HTTP edge is http/)")
            for target in edges[mod]:
                if target[:1] and target[0] in FEATURES:
                    problems.append(f"{name(mod)} uses the feature {name(target)}")
                if target[:1] in (("server",), ("router",), ("http",)):
                    problems.append(f"{name(mod)} uses {name(target)}")
        if mod[:1] and mod[0] in FEATURES:
            for target in edges[mod]:
                if target[:1] in (("server",), ("router",)):
                    problems.append(f"{name(mod)} uses {name(target)}")
    for problem in problems:
        print(f"rule broken: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
