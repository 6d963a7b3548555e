"""The pass-through's escape keys behave as ssh's: only a ~ at the start of a line is special."""

from __future__ import annotations

from orgorepl.term.escapes import Disconnect, EscapeKeys, Help, Send


def typed(*chunks: str) -> list:
    keys = EscapeKeys()
    actions = []
    for chunk in chunks:
        actions += keys.feed(chunk)
    return actions


def sent(actions) -> str:
    return "".join(a.text for a in actions if isinstance(a, Send))


def test_tilde_dot_at_the_start_disconnects_and_nothing_after_it_is_sent():
    actions = typed("~.rm -rf /\r")
    assert actions == [Disconnect()]


def test_tilde_dot_after_enter_disconnects_but_not_in_the_middle_of_a_line():
    assert typed("ls\r~.") == [Send("ls\r"), Disconnect()]
    assert sent(typed("echo a~.b\r")) == "echo a~.b\r"
    assert not any(isinstance(a, Disconnect) for a in typed("echo a~.b\r"))


def test_the_escape_works_when_each_key_arrives_alone():
    assert typed("l", "s", "\r", "~", ".") == [Send("l"), Send("s"), Send("\r"), Disconnect()]


def test_tilde_question_mark_shows_help_and_sends_nothing():
    actions = typed("\r~?")
    assert actions == [Send("\r"), Help()]


def test_a_doubled_tilde_sends_one_and_any_other_key_sends_both():
    assert sent(typed("~~/x\r")) == "~/x\r"
    assert sent(typed("~/bin\r")) == "~/bin\r"
    assert sent(typed("cd ~\r")) == "cd ~\r"


def test_ctrl_c_and_every_other_control_key_go_to_the_remote():
    assert sent(typed("\x03\x04\x1a\x1b[A")) == "\x03\x04\x1a\x1b[A"
