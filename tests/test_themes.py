"""Themes: found the same way from a checkout, the user's config dir and an installed wheel;
every class the code uses is styled by every bundled theme; a broken file is one line naming the
file and the key, and the REPL's loader falls back to the default."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prompt_toolkit import print_formatted_text
from prompt_toolkit.data_structures import Size
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.output.color_depth import ColorDepth
from prompt_toolkit.output.vt100 import Vt100_Output
from prompt_toolkit.styles import Style, default_ui_style, merge_styles

from orgorepl import themes
from orgorepl.errors import ConfigError
from orgorepl.modes import Mode
from orgorepl.ui.state import LAST_STYLES
from orgorepl.ui.style import build_style, default_style, load_style, token_class
from orgorepl.ui.theme_sample import docs_samples, sample, sample_html

REPO = Path(__file__).resolve().parent.parent
PKG = REPO / "orgorepl"
REQUIRED = {"default", "dark", "light", "high-contrast", "colorblind", "mono"}
BUNDLED = sorted(themes.bundled())
SGR = re.compile(r"\x1b\[([0-9;]*)m")
ANY_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


def user_themes(isolated_env) -> Path:
    folder = isolated_env / "config" / "themes"
    folder.mkdir(exist_ok=True)
    return folder


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def screen(ft, style, depth=ColorDepth.TRUE_COLOR) -> str:
    """The bytes the terminal gets when the REPL prints ``ft`` in ``style``."""
    buf = StringIO()
    out = Vt100_Output(buf, lambda: Size(rows=40, columns=200), term="xterm-256color",
                       default_color_depth=depth)
    print_formatted_text(FormattedText(ft), output=out, style=style, include_default_pygments_style=False, end="")
    return buf.getvalue()


def sgr_params(raw: str) -> list[list[str]]:
    return [m.group(1).split(";") for m in SGR.finditer(raw)]


def colour_codes(params: list[str]) -> list[str]:
    """The colour parts of one SGR sequence (30-37, 38;..., 40-47, 48;..., 90-97, 100-107)."""
    found, i = [], 0
    while i < len(params):
        p = params[i]
        if p in ("38", "48"):
            n = 5 if params[i + 1] == "2" else 3
            found.append(";".join(params[i:i + n]))
            i += n
            continue
        if p.isdigit() and (30 <= int(p) <= 49 or 90 <= int(p) <= 107) and p not in ("39", "49"):
            found.append(p)
        i += 1
    return found


# ------------------------------------------------------------------------------------------------
# finding and loading


def test_the_six_required_themes_are_bundled_in_the_top_level_folder():
    assert REQUIRED <= set(BUNDLED)
    assert Path(str(themes.bundled_dir())).resolve() == (REPO / "themes").resolve()
    for name in BUNDLED:
        theme = themes.load(name)
        assert theme.source.origin == "bundled"
        assert theme.description and theme.background in themes.BACKGROUNDS


def test_default_comes_first_and_unknown_names_say_what_exists():
    assert next(iter(themes.available())) == "default"
    with pytest.raises(ConfigError) as info:
        themes.load("drak")
    message = info.value.one_line()
    assert "unknown theme 'drak'" in message and "did you mean 'dark'?" in message
    assert all(name in message for name in REQUIRED)


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_theme_loads_through_the_user_path_and_the_user_copy_wins(name, isolated_env):
    folder = user_themes(isolated_env)
    bundled = themes.load(name)
    text = Path(bundled.source.path).read_text()
    assert '"prompt.python" = ' in text
    text = re.sub(r'^"prompt\.python" = .*$', '"prompt.python" = "#123456 underline"', text, flags=re.MULTILINE)
    write(folder, name, text)

    source = themes.available()[name]
    assert source.origin == "user" and source.shadows is not None and source.shadows.origin == "bundled"
    mine = themes.load(name)
    assert mine.source.path == str(folder / f"{name}.toml")
    assert mine.styles["prompt.python"] == "#123456 underline"
    assert {k: v for k, v in mine.styles.items() if k != "prompt.python"} == \
        {k: v for k, v in bundled.styles.items() if k != "prompt.python"}
    assert mine.pygments == bundled.pygments and mine.pygments_style == bundled.pygments_style

    _, style, warning = load_style(name)
    assert warning is None
    params = [p for group in sgr_params(screen([("class:prompt.python", ">>> ")], style)) for p in group]
    assert "38;2;18;52;86" in ";".join(params) and "4" in params  # the user's colour, underlined


def test_a_user_theme_can_extend_a_bundled_one_even_under_the_same_name(isolated_env):
    folder = user_themes(isolated_env)
    write(folder, "mine", 'extends = "dark"\ndescription = "dark, greener"\n'
                          '[styles]\n"prompt.python" = "#00ff00 bold"\n')
    write(folder, "dark", 'extends = "dark"\n[styles]\nprompt.bash = "#ff0000"\n')  # unquoted dots
    mine = themes.load("mine")
    dark = themes.load("dark")
    bundled_dark = themes.load_source(themes.bundled()["dark"])
    assert mine.pygments_style == "monokai" and mine.description == "dark, greener"
    assert mine.styles["prompt.python"] == "#00ff00 bold"
    # "dark" now names the user's dark, which extends the bundled one it hides: three files deep
    assert dark.styles["prompt.bash"] == "#ff0000" and dark.background == "dark"
    assert mine.styles["prompt.bash"] == "#ff0000"
    assert mine.styles["prompt.cwd"] == bundled_dark.styles["prompt.cwd"]
    assert mine.where("styles.prompt.python") == str(folder / "mine.toml")
    assert mine.where("styles.prompt.bash") == str(folder / "dark.toml")
    assert mine.where("styles.prompt.cwd") == bundled_dark.source.path
    assert set(mine.styles) == set(themes.UI_CLASSES)


def test_a_theme_file_can_be_named_by_path(tmp_path):
    path = write(tmp_path, "elsewhere", 'extends = "light"\n[styles]\n"note" = "bold"\n')
    theme = themes.load(str(path))
    assert theme.name == "elsewhere" and theme.styles["note"] == "bold"
    assert theme.source.origin == "file"
    with pytest.raises(ConfigError, match="does not exist"):
        themes.load(str(tmp_path / "missing.toml"))


# ------------------------------------------------------------------------------------------------
# broken files


BROKEN = [
    ("bad-toml", '[styles]\n"prompt.python" = "bold\n', "invalid TOML", "line 2"),
    ("unknown-key", 'colour = "red"\n', "unknown key 'colour'", "colour"),
    ("not-a-table", 'styles = "bold"\n', "styles must be a table", "styles"),
    ("not-a-string", 'description = 3\n', "description must be a string, not a number", "description"),
    ("unknown-class", '[styles]\n"prompt.pyhton" = "bold"\n', "did you mean 'prompt.python'?",
     'styles."prompt.pyhton"'),
    ("bad-colour", '[styles]\n"prompt.python" = "gren bold"\n', "'gren' is not a colour or attribute",
     'styles."prompt.python"'),
    ("bad-bg", '[styles]\n"note" = "bg:#12345"\n', "'#12345' is not a colour", 'styles."note"'),
    ("html-colour-name", '[styles]\n"note" = "red"\n', "'red' is not a colour", 'styles."note"'),
    ("style-not-string", '[styles]\n"note" = true\n', "must be a style string", 'styles."note"'),
    ("bad-token", '[pygments]\n"keyword" = "bold"\n', "is not a Pygments token", 'pygments."keyword"'),
    ("bad-token-style", '[pygments]\n"Keyword" = "fg:nope"\n', "'nope' is not a colour",
     'pygments."Keyword"'),
    ("wrong-name", 'name = "other"\n', "does not match the file name", "name"),
    ("bad-background", 'background = "grey"\n', "must be \"dark\", \"light\" or \"any\"", "background"),
    ("extends-missing", 'extends = "nothing-here"\n', "unknown theme 'nothing-here'", "extends"),
]


@pytest.mark.parametrize("name, text, problem, key", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_theme_is_one_line_naming_file_and_key_and_the_default_takes_over(
        name, text, problem, key, isolated_env):
    path = write(user_themes(isolated_env), name, text)
    with pytest.raises(ConfigError) as info:
        themes.load(name)
    message = info.value.one_line()
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert problem in message and key in message

    theme, warning = themes.load_or_default(name)
    assert theme.name == "default" and theme.source.origin == "bundled"
    assert warning is not None and str(path) in warning and "using the default theme" in warning
    assert "\n" not in warning

    theme, _, warning = load_style(name)
    assert theme.name == "default" and str(path) in warning


def test_an_unknown_pygments_style_is_caught_before_drawing_and_falls_back(isolated_env):
    path = write(user_themes(isolated_env), "typo", 'extends = "dark"\npygments_style = "monokia"\n')
    theme = themes.load("typo")  # the file itself is well formed; only Pygments knows the names
    with pytest.raises(ConfigError) as info:
        build_style(theme)
    message = info.value.one_line()
    assert message.startswith(f"{path}: pygments_style = 'monokia'") and "did you mean 'monokai'?" in message
    fallback, _, warning = load_style("typo")
    assert fallback.name == "default" and "monokia" in warning and str(path) in warning


def test_themes_extending_each_other_in_a_loop_are_an_error(isolated_env):
    folder = user_themes(isolated_env)
    write(folder, "a", 'extends = "b"\n')
    write(folder, "b", 'extends = "a"\n')
    with pytest.raises(ConfigError, match="extend each other in a loop"):
        themes.load("a")


def test_a_user_default_that_is_broken_falls_back_to_the_bundled_default(isolated_env):
    path = write(user_themes(isolated_env), "default", "nonsense = 1\n")
    theme, warning = themes.load_or_default("default")
    assert theme.source.origin == "bundled" and str(path) in warning
    assert build_style(theme).style_rules == default_style().style_rules


# ------------------------------------------------------------------------------------------------
# every class, every theme


PLACEHOLDERS = {
    "mode.value": [m.value for m in Mode],
    # the outcomes the REPL records for the toolbar
    "last.outcome": list(LAST_STYLES),
}


def classes_in_code() -> dict[str, str]:
    """Every ``class:NAME`` written in the package (f-string templates expanded) -> a file using it."""
    found: dict[str, str] = {}
    for path in sorted(PKG.rglob("*.py")):
        for match in re.finditer(r"class:([a-z0-9_.{}-]+)", path.read_text()):
            template = match.group(1).rstrip(".")
            names = [template]
            for hole in re.findall(r"\{([^}]*)\}", template):
                assert hole in PLACEHOLDERS, f"{path}: class:{template}: teach this test what {{{hole}}} is"
                names = [n.replace("{" + hole + "}", v) for n in names for v in PLACEHOLDERS[hole]]
            for name in names:
                if not name.startswith("pygments"):
                    found.setdefault(name, str(path.relative_to(REPO)))
    return found


def test_every_class_the_code_uses_is_a_known_theme_class():
    used = classes_in_code()
    assert {"prompt.python", "status.timeout", "toolbar.last.failed", "traceback"} <= set(used)
    assert len(PLACEHOLDERS["last.outcome"]) >= 5
    missing = {name: where for name, where in used.items() if name not in themes.UI_CLASSES}
    assert not missing, f"add these to themes.UI_CLASSES, every bundled theme and docs/themes.md: {missing}"


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_theme_styles_every_class_and_builds(name):
    theme = themes.load(name)
    assert set(theme.styles) == set(themes.UI_CLASSES)
    style = build_style(theme)
    classes = {rule for rule, _ in style.style_rules}
    assert set(themes.UI_CLASSES) <= classes
    if theme.pygments_style:
        assert "pygments.keyword" in classes  # the base style's tokens came along


@pytest.mark.parametrize("name", BUNDLED)
def test_the_sample_renders_every_part_in_the_theme(name):
    theme = themes.load(name)
    style = build_style(theme)
    raw = screen(sample(theme), style)
    shown = ANY_ESCAPE.sub("", raw).replace("\r\n", "\n")
    for part in (name, ">>> def greet(name: str", '...     """Say hello."""', "~/work $ sleep 60",
                 "TypeError: can't multiply", " TIMEOUT after 5s ", "exit 1", "state kept: greet",
                 "cannot reach the computer", "print", "dev-box", "Ctrl-D"):
        assert part in shown, part
    assert len(SGR.findall(raw)) > 20  # it is styled, not plain


def test_the_themes_really_look_different():
    rendered = {name: screen(sample(themes.load(name)), build_style(themes.load(name))) for name in BUNDLED}
    assert len(set(rendered.values())) == len(rendered)


def test_the_default_theme_uses_only_the_terminals_own_palette():
    style = merge_styles([default_ui_style(), default_style()])
    raw = screen(sample(themes.load("default")), style)
    codes = [c for params in sgr_params(raw) for c in colour_codes(params)]
    assert codes, "the default theme has colours"
    assert not [c for c in codes if c.startswith(("38;", "48;"))], "only the 16 ANSI colours"


def test_mono_has_no_colour_at_all_yet_keeps_badges_apart():
    theme = themes.load("mono")
    raw = screen(sample(theme), build_style(theme))
    assert not [c for params in sgr_params(raw) for c in colour_codes(params)]
    merged = merge_styles([default_ui_style(), build_style(theme)])  # prompt_toolkit's own under it
    for cls in themes.UI_CLASSES:
        attrs = merged.get_attrs_for_style_str(f"class:{cls}")
        assert attrs.color in ("", "default") and attrs.bgcolor in ("", "default"), cls
    for token in ("Keyword", "String", "Name.Builtin", "Comment", "Generic.Traceback", "Error"):
        attrs = merged.get_attrs_for_style_str(f"class:{token_class(token)}")
        assert attrs.color in ("", "default") and attrs.bgcolor in ("", "default"), token
    shapes = {cls: merged.get_attrs_for_style_str(f"class:{cls}")
              for cls in ("status.error", "status.timeout", "status.exit", "output")}
    looks = {cls: (a.bold, a.underline, a.reverse, a.italic) for cls, a in shapes.items()}
    assert len(set(looks.values())) == 4, looks


def test_colorblind_failures_never_rely_on_colour_alone():
    merged = merge_styles([default_ui_style(), build_style(themes.load("colorblind"))])

    def shape(cls):
        a = merged.get_attrs_for_style_str(f"class:bottom-toolbar class:{cls}" if cls.startswith("toolbar")
                                           else f"class:{cls}")
        return (a.bold, a.underline, a.reverse, a.italic, bool(a.bgcolor))

    ok = shape("toolbar.last.ok")
    for cls in ("toolbar.last.error", "toolbar.last.timeout", "toolbar.last.exit", "toolbar.last.failed",
                "toolbar.failed"):
        assert shape(cls) != ok and any(shape(cls)[:3]), cls
    plain = shape("output")
    for cls in ("status.error", "status.timeout", "status.exit", "note.error"):
        assert shape(cls) != plain and shape(cls)[0], cls
    okabe_ito = {"e69f00", "56b4e9", "009e73", "f0e442", "0072b2", "d55e00", "cc79a7"}
    for cls in ("status.error", "status.exit", "toolbar.last.error", "toolbar.mode.python",
                "toolbar.mode.bash", "prompt.python", "prompt.bash"):
        a = merged.get_attrs_for_style_str(f"class:{cls}")
        assert {a.color.lower(), a.bgcolor.lower()} & okabe_ito, cls


def test_sample_html_draws_the_theme_with_escaped_text():
    page = sample_html(themes.load("dark"))
    assert page.startswith('<pre class="orgorepl-sample"') and page.endswith("</pre>")
    assert "color:#87d75f" in page  # the dark prompt
    assert "&gt;&gt;&gt; " in page and "<cell>" not in page and "&lt;cell&gt;" in page
    assert "background:#ffffff" in sample_html(themes.load("light"))


def test_docs_samples_show_every_bundled_theme_and_never_a_users(isolated_env):
    write(user_themes(isolated_env), "dark", 'extends = "dark"\ndescription = "mine, not for the docs"\n')
    markdown = docs_samples()
    assert markdown.count('<pre class="orgorepl-sample"') == len(BUNDLED)
    assert all(f"### `{name}`" in markdown for name in BUNDLED)
    assert "mine, not for the docs" not in markdown


def test_docs_list_every_class_and_every_bundled_theme():
    doc = (REPO / "docs" / "themes.md").read_text()
    missing = [cls for cls in themes.UI_CLASSES if f"`{cls}`" not in doc]
    assert not missing, missing
    assert all(f"`{name}`" in doc for name in BUNDLED)


# ------------------------------------------------------------------------------------------------
# the style-string rule matches prompt_toolkit's


WORDS = sorted(themes._ATTRIBUTES | themes._ANSI) + [
    "default", "#abc", "#A0B1C2", "fg:ansired", "bg:#123456", "bg:default", "fg:#fff",
    # not theme words (some prompt_toolkit would take, some nobody would)
    "red", "gren", "#12", "#1234567", "bg:", "fg:bold", "class:x", "border:#fff", "roman", "[transparent]",
    "ansiteal", "bg:ansidarkgray",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=6))
def test_every_style_string_a_theme_may_hold_is_one_prompt_toolkit_parses(words):
    text = " ".join(words)
    if themes.style_problem(text) is None:
        Style([("x", text)])  # raises if prompt_toolkit disagrees


def test_prompt_toolkit_agrees_the_rejected_words_are_wrong_or_not_portable():
    for word in ("gren", "#12", "#1234567", "fg:bold", "class:x"):
        assert themes.style_problem(word)
        with pytest.raises((ValueError, AssertionError)):
            Style([("x", word)])


# ------------------------------------------------------------------------------------------------
# the wheel


def test_an_installed_wheel_finds_and_builds_every_bundled_theme(tmp_path):
    """Build the real wheel, then import orgorepl from it (unpacked like pip installs it, and as
    a zip through zipimport) in a fresh interpreter, away from this checkout."""
    dist = tmp_path / "dist"
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)]
    try:
        import hatchling  # noqa: F401

        cmd.insert(4, "--no-build-isolation")  # the backend is here already: no download
    except ImportError:
        pass
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    wheel = next(dist.glob("orgorepl-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        shipped = {Path(n).stem for n in z.namelist() if n.startswith("orgorepl/_themes/") and n.endswith(".toml")}
        assert shipped == set(BUNDLED)
        z.extractall(tmp_path / "site")

    probe = (
        "import sys, orgorepl, orgorepl.themes as t\n"
        "from orgorepl.ui.style import build_style\n"
        "from orgorepl.ui.theme_sample import sample\n"
        "print(orgorepl.__file__)\n"
        "print(t.bundled_dir())\n"
        "for name in t.available():\n"
        "    theme = t.load(name); build_style(theme); sample(theme)\n"
        "    print(name, theme.source.origin)\n"
    )
    for where in (tmp_path / "site", wheel):
        run = subprocess.run(
            [sys.executable, "-c", probe], check=False, cwd=tmp_path, capture_output=True, text=True, timeout=60,
            env={"PYTHONPATH": str(where), "ORGOREPL_CONFIG_DIR": str(tmp_path / "nothing"),
                 "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )
        assert run.returncode == 0, run.stderr
        lines = run.stdout.splitlines()
        assert lines[0].startswith(str(where)), lines[0]
        assert lines[1].startswith(str(where)) and lines[1].rstrip("/").endswith("_themes"), lines[1]
        assert sorted(lines[2:]) == sorted(f"{name} bundled" for name in BUNDLED)
