"""`make mutation`: mutation score of the engine's policy core, per module.

Each mutant is one change made by mutmut's mutation operators (numbers +1,
strings wrapped in "XX", arithmetic / comparison / boolean operator swaps,
`not` dropped, True<->False, break<->continue, an assigned value or a call
argument replaced by None, lambda bodies replaced, lower<->upper style method
swaps), applied through Python's `ast` to one module of
tools/mutation/config.toml, inside the parts of the module the config names.
The mutant is served to a forked pytest run of that module's tests only
(`-x`, hypothesis derandomized, its examples capped at HYPOTHESIS_CAP per
property so that a run stays short: a mutant only a longer search would find
counts as surviving); a failing or timed-out run kills it.

Mutants that cannot change behaviour are listed, each with its reason, in
tools/mutation/equivalent.toml and left out of the score. The run prints
killed / (mutants - equivalent) per module and fails when a module is below
the config's threshold.

    python3 tools/mutation.py                 # every module of the config
    python3 tools/mutation.py retry breaker   # some modules
    python3 tools/mutation.py --list retry    # the mutants, without running them
    python3 tools/mutation.py pii --only run.log   # rerun a previous run's survivors
    python3 tools/mutation.py pii --match _mask_value_text   # the mutants of one function
    python3 tools/mutation.py pii --timeout 20     # seconds per mutant (default: 5x the
                                                   # unmutated run, at least 10)
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib.abc
import importlib.util
import os
import sys
import time
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent / "mutation"

BINOP_SWAPS = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div, ast.Mod: ast.Div, ast.Pow: ast.Mult, ast.LShift: ast.RShift,
    ast.RShift: ast.LShift, ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd, ast.BitXor: ast.BitAnd,
}
CMP_SWAPS = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
BOOL_SWAPS = {ast.And: ast.Or, ast.Or: ast.And}
METHOD_SWAPS = {
    "lower": "upper", "upper": "lower", "lstrip": "rstrip", "rstrip": "lstrip",
    "find": "rfind", "rfind": "find", "split": "rsplit", "rsplit": "split",
    "index": "rindex", "rindex": "index", "ljust": "rjust", "rjust": "ljust",
    "partition": "rpartition", "rpartition": "partition",
    "removeprefix": "removesuffix", "removesuffix": "removeprefix",
}
OPS = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
    ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&", ast.BitOr: "|",
    ast.BitXor: "^", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
    ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
    ast.And: "and", ast.Or: "or",
}
NONE = ast.Constant(value=None)
HYPOTHESIS_CAP = 25


def _is_docstring(parent, field, index):
    return (field == "body" and index == 0
            and isinstance(parent, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                    ast.AsyncFunctionDef)))


def node_mutations(node):
    """(description, function returning the replacement node) for one node."""
    out = []
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            out.append((f"{value} -> {not value}", lambda n: ast.Constant(not n.value)))
        elif isinstance(value, (int, float)):
            out.append((f"{value!r} -> {value + 1!r}", lambda n: ast.Constant(n.value + 1)))
        elif isinstance(value, str):
            out.append((f"{value!r:.40} -> 'XX..XX'",
                        lambda n: ast.Constant("XX" + n.value + "XX")))
    elif isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAPS:
        new = BINOP_SWAPS[type(node.op)]
        out.append((f"{OPS[type(node.op)]} -> {OPS[new]}",
                    lambda n, new=new: ast.BinOp(n.left, new(), n.right)))
    elif isinstance(node, ast.AugAssign) and type(node.op) in BINOP_SWAPS:
        new = BINOP_SWAPS[type(node.op)]
        out.append((f"{OPS[type(node.op)]}= -> {OPS[new]}=",
                    lambda n, new=new: ast.AugAssign(n.target, new(), n.value)))
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in CMP_SWAPS:
                new = CMP_SWAPS[type(op)]

                def swap(n, i=i, new=new):
                    ops = list(n.ops)
                    ops[i] = new()
                    return ast.Compare(n.left, ops, n.comparators)
                out.append((f"{OPS[type(op)]} -> {OPS[new]}", swap))
    elif isinstance(node, ast.BoolOp):
        new = BOOL_SWAPS[type(node.op)]
        out.append((f"{OPS[type(node.op)]} -> {OPS[new]}",
                    lambda n, new=new: ast.BoolOp(new(), n.values)))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        out.append((f"drop {'not' if isinstance(node.op, ast.Not) else 'unary -'}",
                    lambda n: n.operand))
    elif isinstance(node, ast.Break):
        out.append(("break -> continue", lambda n: ast.Continue()))
    elif isinstance(node, ast.Continue):
        out.append(("continue -> break", lambda n: ast.Break()))
    elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
        if not (isinstance(node.value, ast.Constant) and node.value.value is None):
            def assign_none(n):
                n = copy.copy(n)
                n.value = NONE
                return n
            out.append(("assigned value -> None", assign_none))
    elif isinstance(node, ast.Lambda):
        if not (isinstance(node.body, ast.Constant) and node.body.value is None):
            out.append(("lambda body -> None",
                        lambda n: ast.Lambda(n.args, ast.Constant(None))))
    elif isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute) and node.func.attr in METHOD_SWAPS:
            new = METHOD_SWAPS[node.func.attr]

            def rename(n, new=new):
                n = copy.copy(n)
                n.func = ast.Attribute(n.func.value, new, ast.Load())
                return n
            out.append((f".{node.func.attr}() -> .{new}()", rename))
        for i, arg in enumerate(node.args):
            if not isinstance(arg, ast.Starred) and not (
                    isinstance(arg, ast.Constant) and arg.value is None):
                def arg_none(n, i=i):
                    n = copy.copy(n)
                    n.args = list(n.args)
                    n.args[i] = NONE
                    return n
                out.append((f"argument {i + 1} -> None", arg_none))
        for i, kw in enumerate(node.keywords):
            if kw.arg and not (isinstance(kw.value, ast.Constant) and kw.value.value is None):
                def kw_none(n, i=i):
                    n = copy.copy(n)
                    n.keywords = list(n.keywords)
                    n.keywords[i] = ast.keyword(n.keywords[i].arg, NONE)
                    return n
                out.append((f"{kw.arg}= -> None", kw_none))
    return out


class Walker:
    """Walks a module in a fixed order and yields its mutation points inside
    the selected top-level names, skipping docstrings, annotations,
    decorators and f-string parts."""

    SKIP_FIELDS = {"annotation", "returns", "decorator_list", "type_comment"}

    def __init__(self, select):
        self.select = select  # None: the whole module

    def points(self, tree):
        yield from self._visit(tree, None, "", None, None, True)

    def _visit(self, node, parent, qual, field, index, selected):
        if isinstance(node, ast.JoinedStr):
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            qual = f"{qual}.{node.name}" if qual else node.name
            if parent is not None and isinstance(parent, ast.Module) and self.select is not None:
                selected = node.name in self.select
        elif isinstance(parent, ast.Module) and self.select is not None:
            targets = []
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            selected = bool(names & self.select)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and \
                _is_docstring(parent, field, index):
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return
        if selected and parent is not None:
            for desc, make in node_mutations(node):
                yield node, qual or "<module>", desc, make, (parent, field, index)
        for name, value in ast.iter_fields(node):
            if name in self.SKIP_FIELDS:
                continue
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, ast.AST):
                        yield from self._visit(item, node, qual, name, i, selected)
            elif isinstance(value, ast.AST):
                yield from self._visit(value, node, qual, name, None, selected)


def _put(parent, field, index, node):
    if index is None:
        setattr(parent, field, node)
    else:
        getattr(parent, field)[index] = node


def mutants(path, select):
    """[(id, line, mutated source)] of one module. Each mutation is made in place on
    one parsed tree, unparsed, and undone (one walk of the module, not one per mutant)."""
    source = path.read_text()
    lines = source.splitlines()
    result, seen = [], {}
    tree = ast.parse(source)
    for node, qual, desc, make, (parent, field, index) in list(Walker(select).points(tree)):
        new = ast.copy_location(make(node), node)
        ast.fix_missing_locations(new)
        _put(parent, field, index, new)
        try:
            code = ast.unparse(tree)
            compile(code, str(path), "exec")
        except (SyntaxError, ValueError, TypeError):
            continue
        finally:
            _put(parent, field, index, node)
        line = lines[node.lineno - 1].strip()
        mid = f"{qual} | {desc} | {line}"
        seen[mid] = seen.get(mid, 0) + 1
        if seen[mid] > 1:  # the same change twice on one line: "#2" names the second
            mid = f"{mid} #{seen[mid]}"
        result.append((mid, node.lineno, code))
    return result


class _Served(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, fullname, path, code):
        self.fullname, self.path, self.code = fullname, path, code

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.fullname:
            return importlib.util.spec_from_file_location(fullname, self.path, loader=self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        exec(compile(self.code, self.path, "exec"), module.__dict__)


def _cap_hypothesis():
    import hypothesis

    init = hypothesis.settings.__init__

    def capped(self, parent=None, **kwargs):
        if kwargs.get("max_examples", 0) > HYPOTHESIS_CAP:
            kwargs["max_examples"] = HYPOTHESIS_CAP
        init(self, parent, **kwargs)

    hypothesis.settings.__init__ = capped
    profile = hypothesis.settings(max_examples=HYPOTHESIS_CAP, deadline=None, database=None,
                                  derandomize=True)
    hypothesis.settings.register_profile("mutation", profile)
    hypothesis.settings.load_profile("mutation")


def fork_pytest(fullname, path, code, tests):
    """Start one pytest run of ``tests`` with ``code`` served as the module; its pid."""
    pid = os.fork()
    if pid == 0:  # child
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            if code is not None:
                sys.meta_path.insert(0, _Served(fullname, str(path), code))
            _cap_hypothesis()
            import pytest
            # --noconftest: tests/conftest.py only starts the sandbox servers (which no
            # policy test uses) and loads a hypothesis profile that would lift the cap.
            rc = pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-p", "no:odoo",
                              "--noconftest", "--hypothesis-seed=0", *tests])
            os._exit(int(rc))
        except BaseException:
            os._exit(99)
    return pid


def run_all(jobs, tests, timeout, workers, on_survivor=None):
    """{index: 'killed' | 'survived' | 'timeout'} of ``jobs`` = [(index, fullname, path,
    code)], ``workers`` forks at a time; ``on_survivor(index)`` as soon as one survives."""
    results, running, pending = {}, {}, list(jobs)
    while pending or running:
        while pending and len(running) < workers:
            index, fullname, path, code = pending.pop(0)
            pid = fork_pytest(fullname, path, code, tests)
            running[pid] = (index, time.monotonic() + timeout)
        for pid, (index, deadline) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                results[index] = "survived" if code == 0 else "killed"
                del running[pid]
                if code == 0 and on_survivor:
                    on_survivor(index)
                if len(results) % 25 == 0:
                    print(f"  ... {len(results)}/{len(jobs)}", flush=True)
            elif time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                results[index] = "timeout"
                del running[pid]
        time.sleep(0.02)
    return results


def run_in_fork(fullname, path, code, tests, timeout):
    return run_all([(0, fullname, path, code)], tests, timeout, 1)[0]


def warm_up(tests):
    """Import here, once, every module the tests need except shipsync's and the
    tests' own, so that each fork starts warm (shipsync is imported in the fork
    only, where the mutant is served)."""
    import subprocess

    probe = ("import sys, pytest\n"
             f"pytest.main(['-q', '--collect-only', '-p', 'no:cacheprovider', *{tests!r}])\n"
             "print('MODULES', ' '.join(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=REPO, check=False).stdout
    line = next((x for x in out.splitlines() if x.startswith("MODULES ")), "MODULES ")
    for name in line.split()[1:]:
        if name.split(".")[0] in ("shipsync", "conftest", "__main__") or name.startswith("test"):
            continue
        try:
            __import__(name)
        except Exception:  # noqa: BLE001 - a module that cannot be imported alone stays cold
            pass
    repo = str(REPO)
    for name, module in list(sys.modules.items()):
        if name == "shipsync" or name.startswith("shipsync.") or \
                str(getattr(module, "__file__", "") or "").startswith(repo):
            del sys.modules[name]


def survivors_of(log, path):
    """The ids a previous run's output lists as ``SURVIVED <path>:<line>: <id>``."""
    prefix = f"SURVIVED {path}:"
    wanted = set()
    for line in Path(log).read_text().splitlines():
        line = line.strip()
        if line.startswith(prefix):
            wanted.add(line[len(prefix):].split(": ", 1)[1])
    return wanted


def load_equivalents():
    path = HERE / "equivalent.toml"
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text())
    return {(e["module"], e["id"]): e["why"] for e in data.get("equivalent", [])}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help="module names of the config (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--quiet", action="store_true", help="do not list survivors")
    parser.add_argument("--sample", type=int, default=1, metavar="K",
                        help="run every K-th mutant only (a quicker, sampled score)")
    parser.add_argument("-j", "--workers", type=int, default=2, help="mutants run at once")
    parser.add_argument("--only", metavar="LOG",
                        help="run only the mutants a previous run's output lists as SURVIVED "
                             "(a quick check of new tests; its score covers those only)")
    parser.add_argument("--match", metavar="TEXT",
                        help="run only the mutants whose id contains TEXT (e.g. a function "
                             "name; its score covers those only)")
    parser.add_argument("--timeout", type=float, default=0.0, metavar="S",
                        help="seconds one mutant may run (default: 5x the unmutated run, "
                             "at least 10); a mutant that runs longer counts as killed")
    args = parser.parse_args()
    config = tomllib.loads((HERE / "config.toml").read_text())
    threshold = config["threshold"]
    equivalents = load_equivalents()
    os.chdir(REPO)
    sys.path.insert(0, str(REPO))
    warm_up([t for name in (args.modules or list(config["module"]))
             for t in config["module"][name]["tests"]])
    names = args.modules or list(config["module"])
    rows, failed = [], False
    for name in names:
        spec = config["module"][name]
        select = set(spec["select"]) if spec.get("select") else None
        # A module is one file (``path``) or a package's files (``paths``): its mutants
        # are those of every file, each served under its own dotted name.
        found = []
        for rel in spec.get("paths") or [spec["path"]]:
            path = REPO / rel
            fullname = rel[:-3].replace("/", ".")
            wanted = survivors_of(args.only, rel) if args.only else None
            found += [(mid, line, code, rel, fullname, path)
                      for mid, line, code in mutants(path, select)
                      if wanted is None or mid in wanted]
        found = found[::args.sample]
        if args.match:
            found = [m for m in found if args.match in m[0]]
        if args.list:
            for mid, line, _code, rel, _f, _p in found:
                flag = " [equivalent]" if (name, mid) in equivalents else ""
                print(f"{name}:{rel}:{line}: {mid}{flag}")
            continue
        started = time.monotonic()
        base = run_in_fork("", REPO, None, spec["tests"], 600)
        base_time = time.monotonic() - started
        if base != "survived":
            print(f"{name}: the unmutated module fails its tests ({base}); not scored")
            failed = True
            continue
        timeout = args.timeout or max(10.0, 5 * base_time)
        equivalent = sum(1 for m in found if (name, m[0]) in equivalents)
        jobs = [(i, fullname, path, code)
                for i, (mid, _line, code, _rel, fullname, path) in enumerate(found)
                if (name, mid) not in equivalents]
        # Each survivor as soon as it is known (a long run stopped early still tells).
        outcomes = run_all(jobs, spec["tests"], timeout, args.workers,
                           lambda i, found=found: print(
                               f"  (survivor) {found[i][3]}:{found[i][1]}: {found[i][0]}",
                               flush=True))
        killed = sum(1 for outcome in outcomes.values() if outcome != "survived")
        survivors = [found[i] for i, outcome in sorted(outcomes.items())
                     if outcome == "survived"]
        scored = len(found) - equivalent
        score = 100.0 * killed / scored if scored else 100.0
        rows.append((name, len(found), equivalent, killed, score))
        sampled = f", every {args.sample}th mutant" if args.sample > 1 else ""
        sampled += ", previous survivors only" if args.only else ""
        sampled += f", ids matching {args.match!r} only" if args.match else ""
        print(f"{name}: {killed}/{scored} killed = {score:.1f} % "
              f"({len(found)} mutants{sampled}, {equivalent} equivalent, "
              f"{time.monotonic() - started:.0f}s)",
              flush=True)
        if not args.quiet:
            for mid, line, _code, rel, _f, _p in survivors:
                print(f"  SURVIVED {rel}:{line}: {mid}")
        failed = failed or score < threshold
    if args.list:
        return 0
    print(f"\n{'module':<12} {'mutants':>8} {'equiv':>6} {'killed':>7} {'score':>7}")
    for name, total, equivalent, killed, score in rows:
        print(f"{name:<12} {total:>8} {equivalent:>6} {killed:>7} {score:>6.1f}%")
    print(f"threshold {threshold} % per module: {'FAILED' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
