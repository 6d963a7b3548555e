"""A second fidelity corpus, made of shell text nobody here wrote: the command examples of public
bash tutorials and books, replayed as a user would type them, one example per submission.

What is committed here is only the *citation*: which public repository, commit, files and
licence each sequence comes from, how its text is cut into steps, and which steps are left out
and why.  The text itself is not: public repository code stays out of this project's commits
(a rule of the workplace this project is built in).  ``build`` reads the cited files from local
git snapshots of those repositories and writes the corpus as JSON, outside version control::

    python -m fidelity.public_corpus /path/to/snapshots public_corpus.json   # (from tests/)

where ``/path/to/snapshots/<owner>+<name>/repo`` is a git directory holding the cited commit.
``load`` reads that JSON back as :class:`~fidelity.bash_sequences.BashSequence` objects, each
with the example files its steps name (``files``: written into the sequence's directory before
every run, as the books' readers have them in their working directory).  The test and the
benchmark find the JSON at ``$ORGOREPL_PUBLIC_CORPUS``, else at
``tests/fidelity/public_corpus.json`` (ignored by git), else at ``fidelity/public_corpus.json``
in the ``shared/`` folder beside the checkout, and skip, saying so, without it.

How the text becomes steps (nothing in a kept step is rewritten):

- learnbyexample books (``code_snippets/*.sh``): each ``## `` heading of a file opens a
  sequence; each blank-line-separated block under it is one step (a multi-line block is one
  multi-line submission, as pasted).  A section with fewer than ``MIN_STEPS`` steps is joined to
  the next one of the same file.  The commands expect the book's ``example_files/`` in the
  working directory: the ones a sequence names are given to it.
- bash-handbook (``README.md``): each ``#``/``##`` heading (outside code) opens a sequence,
  joined to the next while it has fewer than ``MIN_STEPS`` steps; each ```` ```bash ```` block
  is cut like pure-bash-bible's runnable chapters (below).
- pure-bash-bible (``manuscript/chapter*.txt``): each ``## `` heading opens a sequence (joined
  like the others); its
  ```` ```sh ```` blocks (the function) are one step each, and each ``$ `` line of its
  ```` ```shell ```` usage blocks is one step (the lines after it are the book's output).  In
  the chapters listed as ``runnable`` (loops, brace expansion, arithmetic, code golf), a
  ```` ```shell ```` block with no ``$ `` line is an example to run: each of its
  blank-line-separated blocks is one step (joined to the next while ``bash -n`` finds it
  incomplete).

Left out, always: steps that need the network, root, a pager or an editor, read the keyboard, or
print something that changes from run to run (``shuf``, ``date``, ``$RANDOM``...): the patterns in
``LEAVE_OUT`` (comment lines aside); and the single steps listed in each source's ``skip`` (by
file and 0-based number among all that file's steps, comment-only blocks not counted), each with
its reason.  ``build`` counts what it leaves out, by reason.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .bash_sequences import BashSequence

MIN_STEPS = 3
DEFAULT_JSON = Path(__file__).with_name("public_corpus.json")
# Where the steering side may keep it for every developer and CI: shared/, beside the checkout.
SHARED_JSON = Path(__file__).resolve().parents[3] / "shared" / "fidelity" / "public_corpus.json"

# Steps whose text matches are left out (reason, pattern).
LEAVE_OUT: list[tuple[str, re.Pattern[str]]] = [
    ("network", re.compile(r"\b(wget|curl|ssh|ping|git clone)\b|https?://")),
    ("root or a build", re.compile(r"\bsudo\b|\./configure\b|^make\b", re.M)),
    ("a pager, an editor or a manual", re.compile(r"^(man|info|less|more|vim?|nano)\b", re.M)),
    ("random or time", re.compile(r"\b(shuf|date|sleep|time)\b|\bS?RANDOM\b|/dev/u?random|sort -R|"
                                  r"\bsrand\b|\brand\(|systime|strftime|mktemp|%\([^)]*\)T")),
    ("process ids", re.compile(r"\$\$|\$!|BASHPID|\bps\b")),
    ("ends the shell or reads the keyboard", re.compile(r"^\s*(exit|read|select)\b", re.M)),
]


@dataclass(frozen=True)
class Source:
    repo: str  # owner/name on GitHub
    commit: str
    licence: str
    style: str  # "learnbyexample" | "pure-bash-bible" | "markdown"
    category: str
    paths: tuple[str, ...]
    data_dir: str = ""  # the example files the commands expect in their working directory
    skip: dict[str, dict[int, str]] = field(default_factory=dict)  # path -> step number -> reason
    runnable: tuple[str, ...] = ()  # pure-bash-bible chapters whose ```shell blocks are examples to run


_LBE = "learnbyexample/"

SOURCES: list[Source] = [
    Source(_LBE + "cli_text_processing_coreutils", "07bdf19ada825a0e06d3a93937f3bf740482b063",
           "MIT (code snippets; the book text is CC BY-NC-SA 4.0 and is not used)",
           "learnbyexample", "coreutils",
           tuple(f"code_snippets/{n}.sh" for n in (
               "basename_and_dirname", "cat_and_tac", "comm", "cut", "expand_and_unexpand",
               "fold_and_fmt", "head_and_tail", "join", "nl", "paste", "seq", "sort", "tr", "uniq",
               "wc")),
           data_dir="example_files",
           skip={"code_snippets/cat_and_tac.sh": {0: "reads the keyboard (the book types text, then Ctrl-D)"},
                 "code_snippets/sort.sh": {54: "shows the random order of the `sort -R` left out"}}),
    Source(_LBE + "learn_gnused", "dd73a2c9b42af65c7e4c9e869a836bce94ca4982",
           "MIT (code snippets; the book text is CC BY-NC-SA 4.0 and is not used)",
           "learnbyexample", "gnu-sed",
           tuple(f"code_snippets/{n}.sh" for n in (
               "Introduction", "Inplace_file_editing", "Selective_editing", "append_change_insert",
               "Shell_substitutions")),
           data_dir="example_files",
           skip={"code_snippets/append_change_insert.sh": {
               13: "a race: whether `seq` reports its broken pipe depends on when `sed` fails",
               19: "a race: whether `seq` reports its broken pipe depends on when `sed` fails"}}),
    Source(_LBE + "learn_gnuawk", "ce740df286053ff6b5754bbe40fafb6e3003ba7b",
           "MIT (code snippets; the book text is CC BY-NC-SA 4.0 and is not used)",
           "learnbyexample", "gnu-awk",
           tuple(f"code_snippets/{n}.sh" for n in (
               "awk_introduction", "Field_separators", "Using_shell_variables", "Control_Structures",
               "Dealing_with_duplicates")),
           data_dir="example_files"),
    Source("dylanaraps/pure-bash-bible", "8c19d0b482b04d8d50fb72b4c5148b41ce605c6d", "MIT",
           "pure-bash-bible", "pure-bash-bible",
           tuple(f"manuscript/chapter{n}.txt" for n in (1, 2, 3, 4, 5, 6, 9, 12, 17, 18, 19)),
           runnable=tuple(f"manuscript/chapter{n}.txt" for n in (3, 9, 12, 18)),
           skip={"manuscript/chapter2.txt": {10: "calls the random function left out",
                                             11: "calls the random function left out"},
                 "manuscript/chapter19.txt": {9: "calls the random function left out"},
                 "manuscript/chapter18.txt": {8: "an endless loop (the book shows its syntax)",
                                              9: "an endless loop (the book shows its syntax)"}}),
    Source("denysdovhan/bash-handbook", "662be2812b342f1f96581e444a3ab5b9df286963", "CC BY 4.0",
           "markdown", "bash-handbook", ("README.md",),
           skip={"README.md": {10: "shows the time set by the `date` step left out"}}),
]


# --------------------------------------------------------------------------------------------
# Building (from snapshots) and loading (from the JSON)


def _git_show(git_dir: Path, commit: str, path: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def _git_ls(git_dir: Path, commit: str, path: str) -> list[str]:
    out = subprocess.run(["git", f"--git-dir={git_dir}", "ls-tree", "-r", "--name-only", commit, path],
                         check=True, capture_output=True, text=True).stdout
    return out.split()


def left_out(step: str) -> str | None:
    """The reason a step is left out by pattern (its comment lines aside), or None."""
    code = "\n".join(line for line in step.splitlines() if not line.lstrip().startswith("#"))
    for reason, pattern in LEAVE_OUT:
        if pattern.search(code):
            return reason
    return None


def _lbe_sections(text: str) -> list[tuple[str, list[str]]]:
    """(heading, blocks) per ``## `` section; a block is a blank-line-separated run of lines."""
    sections: list[tuple[str, list[str]]] = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        block = block.rstrip()
        if not block:
            continue
        if block.startswith("## "):
            sections.append((block[3:].strip(), []))
        elif sections:
            sections[-1][1].append(block)
        else:
            sections.append(("", [block]))
    return sections


def _complete_blocks(code: str) -> list[str]:
    """The blank-line-separated blocks of ``code``, a block joined to the next while bash finds
    it incomplete (``bash -n``: a loop or a ``case`` with blank lines inside)."""
    blocks, pending = [], ""
    for block in re.split(r"\n\s*\n", code.strip("\n")):
        pending = f"{pending}\n\n{block}" if pending else block
        check = subprocess.run(["bash", "-n", "-c", pending], capture_output=True, text=True)
        if "unexpected end of file" not in check.stderr:
            blocks.append(pending.rstrip())
            pending = ""
    if pending:
        blocks.append(pending.rstrip())
    return [b for b in blocks if b.strip()]


def _pbb_sections(text: str, runnable: bool) -> list[tuple[str, list[str]]]:
    """(heading, steps) per ``## `` section of a pure-bash-bible chapter."""
    sections: list[tuple[str, list[str]]] = []
    fence = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
    for part in re.split(r"^## ", text, flags=re.M)[1:]:
        heading, _, body = part.partition("\n")
        steps: list[str] = []
        for lang, code in fence.findall(body):
            if lang == "sh":
                steps.append(code.rstrip("\n"))
            elif lang == "shell" and re.search(r"^\$ ", code, re.M):
                steps.extend(line[2:] for line in code.splitlines() if line.startswith("$ "))
            elif lang == "shell" and runnable:  # a runnable example, not a session
                steps.extend(_complete_blocks(code))
        sections.append((heading.strip(), steps))
    return sections


def _md_sections(text: str) -> list[tuple[str, list[str]]]:
    """(heading, steps) per ``#``/``##`` heading (outside code) of a markdown book: each
    ```` ```bash ```` block is an example to run, cut like the runnable chapters above."""
    sections: list[tuple[str, list[str]]] = []
    fence: str | None = None  # the language of the open fence
    code: list[str] = []
    for line in text.splitlines():
        if fence is None and re.match(r"#{1,2} ", line):
            sections.append((line.lstrip("#").strip(), []))
        elif fence is None and line.startswith("```"):
            fence, code = line[3:].strip(), []
        elif fence is not None and line.startswith("```"):
            if fence == "bash" and sections:
                sections[-1][1].extend(_complete_blocks("\n".join(code)))
            fence = None
        elif fence is not None:
            code.append(line)
    return sections


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def build(snapshots: Path, left: Counter[str] | None = None) -> list[dict]:
    """Every sequence of every source, as JSON-ready dicts with their provenance; ``left`` counts
    the steps left out, by reason."""
    left = Counter() if left is None else left
    out: list[dict] = []
    for src in SOURCES:
        git_dir = snapshots / src.repo.replace("/", "+") / "repo"
        data = {}
        if src.data_dir:
            for path in _git_ls(git_dir, src.commit, src.data_dir):
                data[path[len(src.data_dir) + 1:]] = path
        for path in src.paths:
            text = _git_show(git_dir, src.commit, path)
            if src.style == "learnbyexample":
                sections = _lbe_sections(text)
            elif src.style == "markdown":
                sections = _md_sections(text)
            else:
                sections = _pbb_sections(text, path in src.runnable)
            skip = src.skip.get(path, {})
            number = 0
            pending: tuple[list[str], list[str]] = ([], [])  # headings, steps
            for heading, blocks in sections:
                for block in blocks:
                    if block.lstrip().startswith("#") and all(
                            line.lstrip().startswith("#") for line in block.splitlines()):
                        continue  # a comment only
                    n, number = number, number + 1
                    reason = skip.get(n) or left_out(block)
                    if reason:
                        left[reason if n not in skip else "one by one: " + reason] += 1
                        continue
                    pending[1].append(block)
                pending[0].append(heading)
                if len(pending[1]) >= MIN_STEPS:
                    out.append(_sequence(src, path, pending, data, git_dir))
                    pending = ([], [])
            if pending[1] and len(pending[1]) >= MIN_STEPS:
                out.append(_sequence(src, path, pending, data, git_dir))
    names = [s["name"] for s in out]
    assert len(set(names)) == len(names), "sequence names collide"
    return out


def _sequence(src: Source, path: str, pending: tuple[list[str], list[str]], data: dict[str, str],
              git_dir: Path) -> dict:
    headings, steps = pending
    stem = Path(path).stem
    name = f"{src.category}.{_slug(stem)}.{_slug(headings[0]) or 'start'}"
    files = {}
    for base, full in sorted(data.items()):
        if any(re.search(r"(?<![\w.-])" + re.escape(base) + r"(?![\w-])", s) for s in steps):
            files[base] = _git_show(git_dir, src.commit, full)
    return {"name": name, "category": src.category, "steps": steps, "files": files,
            "source": {"repo": src.repo, "commit": src.commit, "path": path, "sections": headings,
                       "licence": src.licence}}


def corpus_path() -> Path:
    """``$ORGOREPL_PUBLIC_CORPUS``, else the JSON beside this module, else the one in shared/."""
    if os.environ.get("ORGOREPL_PUBLIC_CORPUS"):
        return Path(os.environ["ORGOREPL_PUBLIC_CORPUS"])
    return DEFAULT_JSON if DEFAULT_JSON.exists() or not SHARED_JSON.exists() else SHARED_JSON


def load(path: Path | None = None) -> list[BashSequence]:
    """The public corpus as sequences (empty when there is no JSON)."""
    path = path or corpus_path()
    if not path.exists():
        return []
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [BashSequence(row["name"], row["category"], tuple(row["steps"]),
                         files=tuple(sorted(row["files"].items()))) for row in rows]


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit("usage: python -m fidelity.public_corpus SNAPSHOTS_DIR OUT.json")
    left: Counter[str] = Counter()
    rows = build(Path(argv[0]), left)
    Path(argv[1]).write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    steps = sum(len(r["steps"]) for r in rows)
    print(f"{len(rows)} sequences, {steps} steps -> {argv[1]}")
    for reason, count in left.most_common():
        print(f"  left out: {count:3d}  {reason}")


if __name__ == "__main__":
    main(sys.argv[1:])
