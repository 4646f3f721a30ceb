"""Running the ``gridplan`` command in process, as a user types it."""

from __future__ import annotations

from gridplan.cli import EXIT_INPUT, main


def run(capsys, *argv) -> tuple[int, str, str]:
    """The exit code, standard output and standard error of ``gridplan ARGV``."""
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_line_error(code: int, err: str, *words: str):
    """An input error: exit 2 and one line on standard error (in English or, for a run in Chinese, in Chinese where
    the message has its Chinese) that holds every one of ``words``."""
    assert code == EXIT_INPUT, err
    assert (
        err.count("\n") == 1 and err.startswith(("gridplan: error: ", "gridplan: 错误：")) and "Traceback" not in err
    ), err
    assert all(w in err for w in words), err
