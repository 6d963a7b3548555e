"""Does this bash input need another line?  bash's own grammar, in pure Python.

Enter in bash mode must behave as it does at a bash prompt: submit when the input is a whole
command (or an error no further input could repair) and continue on a new line when bash would
show its PS2 prompt.  Running ``bash -n`` on every key press is too slow and not available
everywhere, so this module re-implements the parts of bash 5's parser (``parse.y``) that decide
it: the context-dependent tokenizer (reserved words only where bash recognises them, here
documents read at the next newline token, ``$(...)`` parsed recursively, ``$((...))``,
``${...}`` and the quotes matched like ``parse_matched_pair``) and a recursive-descent copy of
the grammar.  The answer is three-valued internally: a complete parse, a syntax error before the
end (complete: the error is bash's to report), or the end of input where the grammar still
needed something (incomplete).

The input is taken as typed lines: a newline is appended, as Enter does.  A backslash-newline
that ends the input makes an otherwise finished parse incomplete (bash would prompt for the next
line); a syntax error still wins, as it does for ``bash -n``.  After a syntax error bash may read
on (the rest of the line after an error in ``[[ ]]``, here documents begun on the line, the next
line after a bad ``NAME=(...)``), and running out of input there is incomplete too.

tests/test_completeness.py checks this module against ``bash -n``: a corpus of snippets, and
every prefix of two real scripts.
"""

from __future__ import annotations

_BLANK = " \t"
_BREAK = frozenset(" \t\n|&;()<>")
_RESERVED = frozenset(
    "if then else elif fi case esac for select while until do done in function time "
    "{ } ! [[ ]] coproc".split()
)
_ACCEPT_RESERVED = frozenset(
    ["\n", ";", "(", ")", "|", "&", "{", "}", "&&", "ARITH_CMD", "!", "|&", "]]", "do", "done",
     "elif", "else", "esac", "fi", "if", "||", ";;", ";&", ";;&", "then", "time", "TIMEOPT",
     "TIMEIGN", "coproc", "until", "while", "START", "DOLPAREN"]
)
_TIME_OK = frozenset(
    ["START", ";", "\n", "&&", "||", "&", "while", "do", "until", "if", "then", "elif", "else",
     "{", "(", ")", "!", "time", "TIMEOPT", "TIMEIGN"]
)
_REDIR_OPS = frozenset(["<", ">", ">>", "<<", "<<-", "<<<", "<&", ">&", "<>", ">|", "&>", "&>>"])
_ASSIGN_BUILTINS = frozenset(["alias", "declare", "typeset", "local", "export", "readonly", "eval", "let"])
_SHELL_CMD_WORDS = frozenset(["if", "while", "until", "for", "select", "case", "{", "[[", "("])
_CMD_START_WORDS = _SHELL_CMD_WORDS | {"function", "coproc", "!", "time"}
_TEST_UNOPS = frozenset("-a -b -c -d -e -f -g -h -k -p -r -s -t -u -w -x -G -L -N -O -S -z -n -o -v -R".split())
_TEST_BINOPS = frozenset("= == != < > -eq -ne -lt -le -gt -ge -nt -ot -ef".split())
_EXTGLOB_CHARS = "@*+?!"

# flags of _matched_pair, as in parse.y
_FIRSTCLOSE, _ALLOWESC, _DQUOTE, _ARRAYSUB, _DOLBRACE, _ARITH = 1, 2, 4, 16, 32, 64


class Incomplete(Exception):
    """The input ended where bash's grammar needs more."""


class BashSyntaxError(Exception):
    """A token bash would reject: more input cannot repair it.

    ``at_list_end``: the error came right after a whole top-level pipeline, where bash has
    already finished the list and so reads the here documents begun on that line.
    """

    def __init__(self, token: str, *, at_list_end: bool = False) -> None:
        super().__init__(token)
        self.at_list_end = at_list_end


class _DiscardLine(BashSyntaxError):
    """An error in ``NAME=(...)``: bash drops the rest of the line and reads on after it."""


class _CondError(BashSyntaxError):
    """An error inside ``[[ ... ]]``: bash reports it and still reads the rest of the line."""


def needs_more_input(text: str) -> bool:
    """True when bash, given ``text`` typed at its prompt, would ask for another line."""
    parser = _Parser(text)
    while True:
        try:
            parser.parse()
            return parser.continued_at_end
        except Incomplete:
            return True
        except _DiscardLine:
            parser = parser.from_next_line()
            continue
        except BashSyntaxError as err:
            try:
                parser.recover(err)
            except Incomplete:
                return True
            except (BashSyntaxError, RecursionError):
                return False
        except RecursionError:
            return False
        return False  # a syntax error: submitting shows it


class _Tok:
    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value: str = "") -> None:
        self.kind = kind  # WORD ASSIGN NUMBER REDIR_WORD RES OP NL EOF ARITH_CMD ARITH_FOR
        self.value = value

    def is_op(self, *ops: str) -> bool:
        return self.kind == "OP" and self.value in ops

    def is_res(self, *words: str) -> bool:
        return self.kind == "RES" and self.value in words

    @property
    def symbol(self) -> str:
        """The name bash's lexer would remember as ``last_read_token``."""
        if self.kind in ("OP", "RES"):
            return self.value
        return {"NL": "\n"}.get(self.kind, self.kind)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<{self.kind} {self.value!r}>"


class _Heredoc:
    __slots__ = ("delim", "strip_tabs", "quoted")

    def __init__(self, word: str, strip_tabs: bool) -> None:
        self.quoted = any(c in word for c in "'\"\\")
        self.delim = _unquote(word)
        self.strip_tabs = strip_tabs


def _unquote(word: str) -> str:
    out, i, n = [], 0, len(word)
    while i < n:
        c = word[i]
        if c == "\\" and i + 1 < n:
            out.append(word[i + 1])
            i += 2
        elif c == "'":
            j = word.find("'", i + 1)
            j = n if j < 0 else j
            out.append(word[i + 1:j])
            i = j + 1
        elif c == '"':
            i += 1
            while i < n and word[i] != '"':
                if word[i] == "\\" and i + 1 < n and word[i + 1] in '$`"\\':
                    i += 1
                out.append(word[i])
                i += 1
            i += 1
        elif c == "$" and i + 1 < n and word[i + 1] in "'\"":
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _is_ident(s: str) -> bool:
    return bool(s) and (s[0].isalpha() or s[0] == "_") and all(c.isalnum() or c == "_" for c in s) and s.isascii()


def _assignment_prefix(tok: str) -> bool:
    """``NAME=``, ``NAME+=``, ``NAME[sub]=`` or ``NAME[sub]+=`` at the start of ``tok``."""
    eq = tok.find("=")
    if eq <= 0:
        return False
    name = tok[:eq]
    if name.endswith("+"):
        name = name[:-1]
    if name.endswith("]") and "[" in name:
        name = name[: name.index("[")]
    return _is_ident(name)


class _Parser:
    def __init__(self, text: str, *, _source: str | None = None, _pos: int = 0) -> None:
        self.s = text + "\n" if _source is None else _source
        self.n = len(self.s)
        self.pos = _pos
        self.continued_at_end = False  # the last line ended with a backslash-newline
        self.frozen = False  # inside [[ ]] and NAME=( ): bash reads tokens without yylex
        self.peeked: _Tok | None = None
        # bash's lexer state (parse.y names in comments)
        self.last = "START"  # last_read_token
        self.before = "START"  # token_before_that
        self.casepat = False  # PST_CASEPAT
        self.casestmt = False  # PST_CASESTMT
        self.esacs_needed = 0
        self.expecting_in = 0
        self.allow_open_brace = False  # PST_ALLOWOPNBRC
        self.assign_ok = False  # PST_ASSIGNOK
        self.condexpr = False  # PST_CONDEXPR
        self.regexp = False  # PST_REGEXP
        self.extpat = False  # PST_EXTPAT
        self.compassign = False  # PST_COMPASSIGN
        self.open_braces = 0
        self.redirlist = False  # PST_REDIRLIST: a simple command of redirections only, so far
        self.record_heredocs = True
        self.heredocs: list[_Heredoc] = []

    # ------------------------------------------------------------------ token stream

    def peek(self) -> _Tok:
        if self.peeked is None:
            self.peeked = self._next()
        return self.peeked

    def take(self) -> _Tok:
        tok = self.peek()
        self.peeked = None
        return tok

    def expect_res(self, *words: str) -> _Tok:
        tok = self.take()
        if tok.is_res(*words):
            return tok
        self.fail(tok)
        raise AssertionError  # unreachable

    def expect_op(self, op: str) -> None:
        tok = self.take()
        if not tok.is_op(op):
            self.fail(tok)

    @staticmethod
    def fail(tok: _Tok, *, at_list_end: bool = False) -> None:
        if tok.kind == "EOF":
            raise Incomplete
        raise BashSyntaxError(tok.value or tok.kind, at_list_end=at_list_end)

    def skip_newlines(self) -> None:
        while self.peek().kind == "NL":
            self.take()

    def _next(self) -> _Tok:
        tok = self._lex()
        if self.frozen:  # last_read_token is only updated by yylex, which these bypass
            return tok
        if tok.kind == "WORD" and self.last in ("<<", "<<-") and self.record_heredocs:
            self.heredocs.append(_Heredoc(tok.value, self.last == "<<-"))
        self.before, self.last = self.last, tok.symbol
        return tok

    # ------------------------------------------------------------------ lexer

    def _reserved_ok(self, last: str | None = None) -> bool:
        last = self.last if last is None else last
        if last in _ACCEPT_RESERVED:
            return True
        return last == "WORD" and self.before in ("coproc", "function")

    def _command_position(self) -> bool:
        return (
            self.last == "ASSIGN"
            or (self.redirlist and self.last not in _REDIR_OPS)
            or (self.last not in (";;", ";&", ";;&") and self._reserved_ok())
        )

    def _assignment_ok(self) -> bool:
        return self._command_position() and not self.casepat

    def _lex(self) -> _Tok:
        s, n = self.s, self.n
        while True:
            if self.pos >= n:
                return _Tok("EOF")
            c = s[self.pos]
            if c in _BLANK:
                self.pos += 1
            elif c == "\\" and s.startswith("\n", self.pos + 1):
                self._continuation(self.pos)
            else:
                break
        if c == "#":
            nl = s.find("\n", self.pos)
            self.pos = n - 1 if nl < 0 else nl
            c = "\n"
        if c == "\n":
            self.pos += 1
            self.assign_ok = False
            if self.heredocs:
                self._read_heredocs()
            return _Tok("NL")
        if not self.regexp and c in "|&;()<>" and not (c in "<>" and s.startswith("(", self.pos + 1)):
            return self._operator(c)
        return self._word()

    def _continuation(self, at: int) -> None:
        """A backslash-newline at ``at``: joined away.  At the very end it is where input stops
        (bash -n then finishes the parse; at a prompt bash would ask for the next line)."""
        self.pos = at + 2
        if self.pos >= self.n:
            self.continued_at_end = True

    def _operator(self, c: str) -> _Tok:
        s, pos = self.s, self.pos
        nxt = s[pos + 1] if pos + 1 < self.n else ""
        self.assign_ok = False
        op = c
        if nxt == c:
            if c == "(":
                tok = self._dparen()
                if tok is not None:
                    return tok
            elif c == "<":
                third = s[pos + 2] if pos + 2 < self.n else ""
                op = "<<-" if third == "-" else "<<<" if third == "<" else "<<"
            elif c == ";":
                self.casepat = True
                op = ";;&" if s.startswith("&", pos + 2) else ";;"
            elif c in ">&|":
                op = c + c
        elif c + nxt in ("<&", ">&", "<>", ">|", "|&"):
            op = c + nxt
        elif c == "&" and nxt == ">":
            op = "&>>" if s.startswith(">", pos + 2) else "&>"
        elif c == ";" and nxt == "&":
            self.casepat = True
            op = ";&"
        self.pos = pos + len(op)
        if op == ")" and self.last == "(" and self.before == "WORD":
            self.allow_open_brace = True
        if op == ")" and self.casepat:
            self.casepat = False
        return _Tok("OP", op)

    def _dparen(self) -> _Tok | None:
        """``((``: an arithmetic command or ``for ((...))``, else two parentheses."""
        if self.last == "for":
            self.pos += 1
            if not self._arith_body():
                raise BashSyntaxError("((")
            return _Tok("ARITH_FOR")
        if self._reserved_ok():
            start = self.pos
            self.pos += 1
            if self._arith_body():
                return _Tok("ARITH_CMD")
            self.pos = start  # a nested subshell: read the first `(` alone
        return None

    def _arith_body(self) -> bool:
        """After the first ``(`` of ``((``: match to ``)`` and tell whether a second ``)`` follows."""
        self.pos = self._matched_pair("", "(", ")", self.pos + 1, _ARITH)
        if self.s.startswith(")", self.pos):
            self.pos += 1
            return True
        return False

    def _word(self) -> _Tok:
        s, n = self.s, self.n
        tok: list[str] = []
        pos = self.pos
        while pos < n:
            c = s[pos]
            if c == "\\":
                if s.startswith("\n", pos + 1):
                    self._continuation(pos)
                    pos = self.pos
                    continue
                tok.append(s[pos:pos + 2])
                pos += 2
                continue
            if c in "'\"`":
                if c == "'":
                    end = self._single_quote(pos + 1, allow_escapes=False)
                else:
                    end = self._matched_pair(c, c, c, pos + 1, 0)
                tok.append(s[pos:end])
                pos = end
                continue
            if self.regexp and c in "(|":
                if c == "|":
                    tok.append(c)
                    pos += 1
                else:
                    end = self._matched_pair("", "(", ")", pos + 1, 0)
                    tok.append(s[pos:end])
                    pos = end
                continue
            if self.extpat and c in _EXTGLOB_CHARS and s.startswith("(", pos + 1):
                end = self._matched_pair("", "(", ")", pos + 2, 0)
                tok.append(s[pos:end])
                pos = end
                continue
            if c in "$<>" and pos + 1 < n:
                nxt = s[pos + 1]
                if nxt == "(" or (c == "$" and nxt in "{["):
                    if nxt == "{":
                        end = self._matched_pair("", "{", "}", pos + 2, _FIRSTCLOSE | _DOLBRACE)
                    elif nxt == "(":
                        end = self._comsub("", pos + 2)
                    else:
                        end = self._matched_pair("", "[", "]", pos + 2, _ARITH)
                    tok.append(s[pos:end])
                    pos = end
                    continue
                if c == "$" and nxt in "'\"":
                    if nxt == "'":
                        end = self._single_quote(pos + 2, allow_escapes=True)
                    else:
                        end = self._matched_pair('"', '"', '"', pos + 2, 0)
                    tok.append(s[pos:end])
                    pos = end
                    continue
            if c == "[" and (
                (tok and _is_ident("".join(tok)) and self._assignment_ok()) or (not tok and self.compassign)
            ):
                end = self._matched_pair("", "[", "]", pos + 1, _ARRAYSUB)
                tok.append(s[pos:end])
                pos = end
                continue
            if (
                c == "="
                and tok
                and (self._assignment_ok() or self.assign_ok)
                and s.startswith("(", pos + 1)
                and _assignment_prefix("".join(tok) + "=")
            ):
                self.pos = pos + 2
                self._compound_assignment()
                tok.append(s[pos:self.pos])
                pos = self.pos
                continue
            if c in _BREAK:
                break
            tok.append(c)
            pos += 1
        self.pos = pos
        return self._classify("".join(tok), s[pos] if pos < n else "")

    def _classify(self, word: str, after: str) -> _Tok:
        last = self.last
        if word.isdigit() and word.isascii() and (after in ("<", ">") or last in ("<&", ">&")):
            return _Tok("NUMBER", word)
        special = self._special_case(word)
        if special is not None:
            return special
        if word in _RESERVED and self._reserved_ok():
            if self.casepat and word != "esac":
                pass
            elif word == "time" and last not in _TIME_OK:
                pass
            elif self.casepat and last in ("|", "("):
                pass
            else:
                if word == "esac":
                    self.casepat = self.casestmt = False
                    self.esacs_needed = max(0, self.esacs_needed - 1)
                elif word == "case":
                    self.casestmt = True
                elif word == "{":
                    self.open_braces += 1
                elif word == "}" and self.open_braces:
                    self.open_braces -= 1
                return _Tok("RES", word)
        kind = "WORD"
        if _assignment_prefix(word) and (self._assignment_ok() or self.compassign):
            kind = "ASSIGN"
        if self._command_position() and word in _ASSIGN_BUILTINS:
            self.assign_ok = True
        if word.startswith("{") and word.endswith("}") and after in ("<", ">") and _is_ident(word[1:-1]):
            return _Tok("REDIR_WORD", word)
        if last == "function":
            self.allow_open_brace = True
        elif last in ("case", "select", "for"):
            self.expecting_in += 1
        return _Tok(kind, word)

    def _special_case(self, word: str) -> _Tok | None:
        last, before = self.last, self.before
        if last == "WORD" and before in ("for", "case", "select") and word == "in":
            if before == "case":
                self.casepat = True
                self.esacs_needed += 1
            if self.expecting_in:
                self.expecting_in -= 1
            return _Tok("RES", "in")
        if self.expecting_in and last in ("WORD", "\n") and word == "in":
            if self.casestmt:
                self.casepat = True
                self.esacs_needed += 1
            self.expecting_in -= 1
            return _Tok("RES", "in")
        if self.expecting_in and last in ("\n", ";") and word == "do":
            self.expecting_in -= 1
            return _Tok("RES", "do")
        if last == "WORD" and before in ("for", "select") and word == "do":
            if self.expecting_in:
                self.expecting_in -= 1
            return _Tok("RES", "do")
        if self.esacs_needed and last == "in" and word == "esac":
            self.esacs_needed -= 1
            self.casepat = False
            return _Tok("RES", "esac")
        if self.allow_open_brace:
            self.allow_open_brace = False
            if word == "{":
                self.open_braces += 1
                return _Tok("RES", "{")
        if last == "ARITH_FOR" and word in ("do", "{"):
            if word == "{":
                self.open_braces += 1
            return _Tok("RES", word)
        if self.open_braces and self._reserved_ok() and word == "}":
            self.open_braces -= 1
            return _Tok("RES", "}")
        if last == "time" and word == "-p":
            return _Tok("RES", "TIMEOPT")
        if last in ("time", "TIMEOPT") and word == "--":
            return _Tok("RES", "TIMEIGN")
        if self.condexpr and word == "]]":
            return _Tok("RES", "]]")
        return None

    # -------------------------------------------------------------- matched pairs

    def _single_quote(self, pos: int, *, allow_escapes: bool) -> int:
        s = self.s
        while True:
            end = s.find("'", pos)
            if end < 0:
                raise Incomplete
            if allow_escapes:
                run = 0
                k = end - 1
                while k >= pos and s[k] == "\\":
                    run += 1
                    k -= 1
                if run % 2:
                    pos = end + 1
                    continue
            return end + 1

    def _matched_pair(self, qc: str, open_: str, close: str, pos: int, flags: int) -> int:
        """parse.y's parse_matched_pair: ``pos`` is just after the opening character; returns the
        position after the closing one."""
        if open_ == "'":
            return self._single_quote(pos, allow_escapes=bool(flags & _ALLOWESC))
        s, n = self.s, self.n
        count = 1
        pass_next = was_dol = gt_lt = False
        rflags = _DQUOTE if qc == '"' else flags & _DQUOTE
        while count:
            if pos >= n:
                raise Incomplete
            ch = s[pos]
            if ch == "\\" and not pass_next and s.startswith("\n", pos + 1):
                self._continuation(pos)
                pos = self.pos
                continue
            pos += 1
            if pass_next:
                pass_next = False
                continue
            if ch == close:
                count -= 1
            elif open_ != close and was_dol and open_ == "{" and ch == open_:
                count += 1
            elif not flags & _FIRSTCLOSE and ch == open_:
                count += 1
            if count == 0:
                break
            if ch == "\\":
                pass_next = True
            nested = None
            if open_ != close:
                if ch in "'\"`":
                    if ch == "'":
                        pos = self._single_quote(pos, allow_escapes=was_dol)
                    else:
                        pos = self._matched_pair(ch, ch, ch, pos, rflags)
                elif flags & (_ARRAYSUB | _DOLBRACE) and was_dol and ch in "({[":
                    nested = ch
                elif flags & _ARITH and was_dol and ch == "(":
                    nested = ch
                elif flags & (_ARRAYSUB | _DOLBRACE) and gt_lt and ch == "(":
                    nested = ch
            elif open_ == '"' and ch == "`":
                pos = self._matched_pair("", "`", "`", pos, rflags)
            elif open_ != "`" and was_dol and ch in "({[":
                nested = ch
            if nested is not None:
                if open_ == nested:
                    count -= 1
                if nested == "(":
                    pos = self._comsub(qc, pos)
                elif nested == "{":
                    pos = self._matched_pair("", "{", "}", pos, _FIRSTCLOSE | _DOLBRACE | rflags)
                else:
                    pos = self._matched_pair("", "[", "]", pos, rflags | _ARITH)
            gt_lt = ch in "<>" and not gt_lt
            was_dol = ch == "$" and not was_dol
        return pos

    def _comsub(self, qc: str, pos: int) -> int:
        """``$(`` (or ``<(``/``>(``) just read, ``pos`` after it: ``$((`` is arithmetic, anything
        else is parsed as a command list, as bash 5 does."""
        if self.s.startswith("(", pos):
            return self._matched_pair(qc, "(", ")", pos, _ARITH)
        saved = self._save()
        self.pos, self.peeked = pos, None
        self.last = self.before = "DOLPAREN"
        self.heredocs = []
        self.casepat = self.casestmt = self.condexpr = self.regexp = self.extpat = self.compassign = False
        self.frozen = False
        self.esacs_needed = self.expecting_in = 0
        self.allow_open_brace = False
        self.skip_newlines()
        if not self.peek().is_op(")"):
            self.compound_list()
        tok = self.take()
        if not tok.is_op(")"):
            self.fail(tok)
        if self.heredocs:  # bash warns, then reads them from right after the `)`
            self._read_heredocs()
        end = self.pos
        self._restore(saved)
        return end

    def _save(self) -> tuple:
        return (self.peeked, self.last, self.before, self.casepat, self.casestmt, self.esacs_needed,
                self.expecting_in, self.allow_open_brace, self.assign_ok, self.condexpr, self.regexp,
                self.extpat, self.compassign, self.heredocs, self.open_braces, self.redirlist, self.frozen)

    def _restore(self, saved: tuple) -> None:
        (self.peeked, self.last, self.before, self.casepat, self.casestmt, self.esacs_needed,
         self.expecting_in, self.allow_open_brace, self.assign_ok, self.condexpr, self.regexp,
         self.extpat, self.compassign, self.heredocs, self.open_braces, self.redirlist, self.frozen) = saved

    def _compound_assignment(self) -> None:
        """``NAME=(`` just read: words and newlines up to ``)``."""
        saved = self._save()
        self.peeked = None
        self.last = "WORD"
        self.condexpr = self.regexp = self.extpat = False
        self.compassign = self.frozen = True
        self.esacs_needed = self.expecting_in = 0
        while True:
            tok = self.take()
            if tok.is_op(")"):
                break
            if tok.kind == "NL":
                continue
            if tok.kind == "EOF":
                raise Incomplete
            if tok.kind not in ("WORD", "ASSIGN"):
                raise _DiscardLine(tok.value or tok.kind)
        assign_ok = saved[8]
        self._restore(saved)
        self.assign_ok = assign_ok

    def _read_heredocs(self) -> None:
        s = self.s
        pending, self.heredocs = self.heredocs, []
        for doc in pending:
            while True:
                if self.pos >= self.n:
                    raise Incomplete
                nl = s.find("\n", self.pos)
                if nl < 0:
                    raise Incomplete
                line = s[self.pos:nl]
                self.pos = nl + 1
                if not doc.quoted:
                    while _odd_backslashes(line):
                        if self.pos >= self.n:
                            raise Incomplete
                        nl = s.find("\n", self.pos)
                        if nl < 0:
                            raise Incomplete
                        line = line[:-1] + s[self.pos:nl]
                        self.pos = nl + 1
                if doc.strip_tabs:
                    line = line.lstrip("\t")
                if line == doc.delim:
                    break

    def from_next_line(self) -> _Parser:
        nl = self.s.find("\n", self.pos)
        return _Parser("", _source=self.s, _pos=self.n if nl < 0 else nl + 1)

    def recover(self, err: BashSyntaxError) -> None:
        """What bash still reads after a syntax error, which may itself run out of input: the
        rest of the line's tokens after an error in ``[[ ]]``, the bodies of the here documents
        already started on the error's line otherwise."""
        self.peeked = None
        if isinstance(err, _CondError):
            self.condexpr = self.regexp = self.extpat = False
            self.record_heredocs = self.frozen = False
            self.last = "ERROR"
            while self._next().kind not in ("NL", "EOF"):
                pass
        elif err.at_list_end and self.heredocs:
            nl = self.s.find("\n", self.pos)
            self.pos = self.n if nl < 0 else nl + 1
            self._read_heredocs()

    # ------------------------------------------------------------------ grammar

    def parse(self) -> None:
        """inputunit*: simple lists, each ended by a newline, until the end of input."""
        while True:
            tok = self.peek()
            if tok.kind == "EOF":
                return
            if tok.kind == "NL":
                self.take()
                continue
            self.simple_list()
            tok = self.take()
            if tok.kind not in ("NL", "EOF"):
                self.fail(tok, at_list_end=True)

    def simple_list(self) -> None:
        self.pipeline_command()
        while True:
            tok = self.peek()
            if tok.is_op("&&", "||"):
                self.take()
                self.skip_newlines()
                self.pipeline_command()
            elif tok.is_op(";", "&"):
                self.take()
                nxt = self.peek()
                if nxt.kind in ("NL", "EOF"):
                    return
                if not self._starts_command(nxt):
                    self.fail(nxt, at_list_end=True)
                self.pipeline_command()
            else:
                return

    def compound_list(self) -> None:
        self.skip_newlines()
        self.pipeline_command()
        while True:
            tok = self.peek()
            if tok.is_op("&&", "||"):
                self.take()
                self.skip_newlines()
                self.pipeline_command()
            elif tok.is_op(";", "&") or tok.kind == "NL":
                self.take()
                self.skip_newlines()
                if not self._starts_command(self.peek()):
                    return
                self.pipeline_command()
            else:
                return

    @staticmethod
    def _starts_command(tok: _Tok) -> bool:
        if tok.kind in ("WORD", "ASSIGN", "NUMBER", "REDIR_WORD", "ARITH_CMD"):
            return True
        if tok.kind == "OP":
            return tok.value == "(" or tok.value in _REDIR_OPS
        return tok.kind == "RES" and tok.value in _CMD_START_WORDS

    def pipeline_command(self) -> None:
        tok = self.peek()
        if tok.is_res("!", "time"):
            self.take()
            if tok.value == "time":
                if self.peek().is_res("TIMEOPT"):
                    self.take()
                if self.peek().is_res("TIMEIGN"):
                    self.take()
            nxt = self.peek()
            if nxt.kind in ("NL", "EOF") or nxt.is_op(";"):
                return  # `!` or `time` before a list terminator stands alone
            self.pipeline_command()
            return
        self.pipeline()

    def pipeline(self) -> None:
        self.command()
        while self.peek().is_op("|", "|&"):
            self.take()
            self.skip_newlines()
            self.command()

    def command(self) -> None:
        self.redirlist = False
        tok = self.take()
        kind = tok.kind
        if kind == "EOF":
            raise Incomplete
        if kind == "RES" and tok.value in _SHELL_CMD_WORDS or tok.is_op("(") or kind == "ARITH_CMD":
            self.shell_command(tok)
            self.redirection_list()
        elif tok.is_res("function"):
            self.function_keyword()
        elif tok.is_res("coproc"):
            self.coproc()
        elif kind == "WORD" and self.peek().is_op("("):
            self.take()
            self.expect_op(")")
            self.skip_newlines()
            self.function_body()
        elif kind in ("WORD", "ASSIGN"):
            self.simple_command_rest()
        elif self._starts_redirection(tok):
            self.redirections_first(tok)
        else:
            self.fail(tok)

    @staticmethod
    def _starts_redirection(tok: _Tok) -> bool:
        return tok.kind in ("NUMBER", "REDIR_WORD") or (tok.kind == "OP" and tok.value in _REDIR_OPS)

    def redirections_first(self, tok: _Tok) -> None:
        """A simple command that starts with a redirection: until its first word, an assignment
        (even ``NAME=(...)``) may still follow."""
        self.redirection(tok)
        self.redirlist = True
        self.simple_command_rest()

    def simple_command_rest(self) -> None:
        while True:
            tok = self.peek()
            if tok.kind in ("WORD", "ASSIGN"):
                self.take()
                self.redirlist = False
            elif tok.kind in ("NUMBER", "REDIR_WORD") or (tok.kind == "OP" and tok.value in _REDIR_OPS):
                self.redirection(self.take())
            else:
                return

    def redirection(self, tok: _Tok) -> None:
        if tok.kind in ("NUMBER", "REDIR_WORD"):
            tok = self.take()
            if not (tok.kind == "OP" and tok.value in _REDIR_OPS):
                self.fail(tok)
        target = self.take()
        if not (target.kind == "WORD" or (target.kind == "NUMBER" and tok.value in ("<&", ">&"))):
            self.fail(target)

    def redirection_list(self) -> None:
        while True:
            tok = self.peek()
            if tok.kind in ("NUMBER", "REDIR_WORD") or (tok.kind == "OP" and tok.value in _REDIR_OPS):
                self.redirection(self.take())
            else:
                return

    def shell_command(self, tok: _Tok) -> None:
        if tok.kind == "ARITH_CMD":
            return
        if tok.is_op("("):
            self.compound_list()
            self.expect_op(")")
            return
        word = tok.value
        if word == "if":
            self.compound_list()
            self.expect_res("then")
            self.compound_list()
            while True:
                end = self.expect_res("fi", "elif", "else")
                if end.value == "fi":
                    return
                if end.value == "else":
                    self.compound_list()
                    self.expect_res("fi")
                    return
                self.compound_list()
                self.expect_res("then")
                self.compound_list()
        elif word in ("while", "until"):
            self.compound_list()
            self.expect_res("do")
            self.compound_list()
            self.expect_res("done")
        elif word == "{":
            self.compound_list()
            self.expect_res("}")
        elif word in ("for", "select"):
            self.for_command(word)
        elif word == "case":
            self.case_command()
        elif word == "[[":
            self.cond_command()
        else:  # pragma: no cover - guarded by the caller
            self.fail(tok)

    def for_command(self, word: str) -> None:
        tok = self.take()
        if tok.kind == "ARITH_FOR" and word == "for":
            nxt = self.peek()
            if nxt.is_op(";") or nxt.kind == "NL":
                self.take()
                self.skip_newlines()
            elif nxt.kind == "EOF":
                self.take()
            self.loop_body()
            return
        if tok.kind != "WORD":
            self.fail(tok)
        newlines = False
        while self.peek().kind == "NL":
            self.take()
            newlines = True
        tok = self.peek()
        if tok.is_res("in"):
            self.take()
            while self.peek().kind in ("WORD", "ASSIGN", "NUMBER"):
                self.take()
            end = self.take()
            if not (end.kind in ("NL", "EOF") or end.is_op(";")):
                self.fail(end)
            self.skip_newlines()
        elif tok.is_op(";") and not newlines:
            self.take()
            self.skip_newlines()
        self.loop_body()

    def loop_body(self) -> None:
        opener = self.expect_res("do", "{")
        self.compound_list()
        self.expect_res("done" if opener.value == "do" else "}")

    def case_command(self) -> None:
        tok = self.take()
        if tok.kind not in ("WORD", "ASSIGN", "NUMBER"):
            self.fail(tok)
        self.skip_newlines()
        self.expect_res("in")
        while True:
            self.skip_newlines()
            tok = self.take()
            if tok.is_res("esac"):
                return
            if tok.is_op("("):
                tok = self.take()
            if tok.kind not in ("WORD", "ASSIGN", "NUMBER"):
                self.fail(tok)
            while self.peek().is_op("|"):
                self.take()
                tok = self.take()
                if tok.kind not in ("WORD", "ASSIGN", "NUMBER"):
                    self.fail(tok)
            self.expect_op(")")
            self.skip_newlines()
            if self._starts_command(self.peek()):
                self.compound_list()
            end = self.take()
            if end.is_res("esac"):
                return
            if not end.is_op(";;", ";&", ";;&"):
                self.fail(end)

    def function_keyword(self) -> None:
        name = self.take()
        if name.kind not in ("WORD", "ASSIGN", "NUMBER"):
            self.fail(name)
        tok = self.peek()
        if tok.is_op("("):
            self.take()
            if not self.peek().is_op(")"):  # `function f (cmd)`: the body is a subshell
                self.shell_command(tok)
                self.redirection_list()
                return
            self.take()
            self.skip_newlines()
        elif tok.kind == "NL":
            self.skip_newlines()
        self.function_body()

    def function_body(self) -> None:
        tok = self.take()
        if tok.kind == "RES" and tok.value in _SHELL_CMD_WORDS or tok.is_op("(") or tok.kind == "ARITH_CMD":
            self.shell_command(tok)
            self.redirection_list()
        else:
            self.fail(tok)

    def coproc(self) -> None:
        tok = self.take()
        if tok.kind == "RES" and tok.value in _SHELL_CMD_WORDS or tok.is_op("(") or tok.kind == "ARITH_CMD":
            self.shell_command(tok)
            self.redirection_list()
            return
        if tok.kind == "WORD":
            nxt = self.peek()
            if nxt.kind == "RES" and nxt.value in _SHELL_CMD_WORDS or nxt.is_op("(") or nxt.kind == "ARITH_CMD":
                self.shell_command(self.take())
                self.redirection_list()
                return
            self.simple_command_rest()
            return
        if tok.kind == "ASSIGN":
            self.simple_command_rest()
        elif self._starts_redirection(tok):
            self.redirections_first(tok)
        else:
            self.fail(tok)

    # ---------------------------------------------------------------- [[ ... ]]

    def cond_command(self) -> None:
        self.condexpr = self.frozen = True
        try:
            end = self.cond_or()
        finally:
            self.condexpr = self.frozen = False
        if end.kind == "EOF":
            raise Incomplete
        if not end.is_res("]]"):
            raise _CondError(end.value or end.kind)

    def _cond_token(self) -> _Tok:
        tok = self.take()
        while tok.kind == "NL":
            tok = self.take()
        return tok

    def cond_or(self) -> _Tok:
        tok = self.cond_and()
        while tok.is_op("||"):
            tok = self.cond_and()
        return tok

    def cond_and(self) -> _Tok:
        tok = self.cond_term()
        while tok.is_op("&&"):
            tok = self.cond_term()
        return tok

    def cond_term(self) -> _Tok:
        """One term; returns the token after it (bash's ``cond_token``)."""
        tok = self._cond_token()
        if tok.kind == "EOF":
            raise _CondError("EOF")  # bash: "unexpected token `EOF' in conditional command"
        if tok.is_op("("):
            end = self.cond_or()
            if not end.is_op(")"):
                raise _CondError("expected `)'")
            return self._cond_token()
        if tok.is_res("!") or (tok.kind == "WORD" and tok.value == "!"):
            return self.cond_term()
        if tok.kind in ("WORD", "ASSIGN", "NUMBER") and tok.value in _TEST_UNOPS:
            arg = self.take()
            if arg.kind not in ("WORD", "ASSIGN", "NUMBER"):
                raise _CondError(arg.value or arg.kind)
            return self._cond_token()
        if tok.kind in ("WORD", "ASSIGN", "NUMBER"):
            op = self.take()
            if op.kind in ("WORD", "ASSIGN", "NUMBER") and op.value in _TEST_BINOPS:
                self.extpat = op.value in ("=", "==", "!=")
            elif op.kind in ("WORD", "ASSIGN", "NUMBER") and op.value == "=~":
                self.regexp = True
            elif op.is_op("<", ">"):
                pass
            elif op.is_res("]]") or op.is_op("&&", "||", ")"):
                return op
            else:
                raise _CondError(op.value or op.kind)
            try:
                rhs = self.take()
            finally:
                self.regexp = self.extpat = False
            if rhs.kind not in ("WORD", "ASSIGN", "NUMBER"):
                raise _CondError(rhs.value or rhs.kind)
            return self._cond_token()
        raise _CondError(tok.value or tok.kind)


def _odd_backslashes(line: str) -> bool:
    run = len(line) - len(line.rstrip("\\"))
    return run % 2 == 1
