"""The gridplan command: where it is, and running it with its output in the Processing log.

As QGIS's SAGA and GRASS providers call their executables, the provider calls the installed ``gridplan``
command rather than importing gridplan: gridplan and its dependencies live in their own Python environment,
never in QGIS's.
"""

import os
import re
import shlex
import shutil
import subprocess

from qgis.core import QgsProcessingException, QgsProcessingFeedback

from processing.core.ProcessingConfig import ProcessingConfig

#: The provider's setting (Processing → Options → Providers → gridplan) and the environment variable that name
#: the command: a path, or a command line such as ``/opt/gridplan/bin/python -m gridplan.cli``.
EXECUTABLE = "GRIDPLAN_EXECUTABLE"
#: A progress bar's percentage (tqdm: `` 45%|████``).
_PROGRESS = re.compile(r"(\d{1,3})%\|")


def gridplan_command() -> list:
    """The command line that runs gridplan: the provider's setting, else ``$GRIDPLAN_EXECUTABLE``, else
    ``gridplan`` on the PATH."""
    configured = ProcessingConfig.getSetting(EXECUTABLE) or os.environ.get(EXECUTABLE, "")
    if configured.strip():
        return shlex.split(configured)
    found = shutil.which("gridplan")
    if found is None:
        raise QgsProcessingException(
            "the gridplan command was not found: install gridplan (pip install gridplan) and name its executable in "
            "Processing → Options → Providers → gridplan, or in the environment variable GRIDPLAN_EXECUTABLE")
    return [found]


def run_gridplan(arguments: list, feedback: QgsProcessingFeedback) -> None:
    """Run ``gridplan ARGUMENTS``, its output in the log and its progress bars on the dialog's.

    Raises
    ------
    QgsProcessingException
        The command failed (with its last lines, which say why) or was canceled.
    """
    command = gridplan_command() + [str(a) for a in arguments]
    feedback.pushCommandInfo(" ".join(shlex.quote(c) for c in command))
    lines = []
    # gridplan prints Chinese: its output is UTF-8 whatever the locale QGIS runs in
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                          text=True, encoding="utf-8", errors="replace") as process:
        for line in process.stdout:  # text mode ends a line at a progress bar's carriage return too
            if feedback.isCanceled():
                process.terminate()
                break
            line = line.rstrip()
            progress = _PROGRESS.search(line)
            if progress:
                feedback.setProgress(int(progress.group(1)))
            elif line:
                lines.append(line)
                feedback.pushConsoleInfo(line)
        code = process.wait()
    if feedback.isCanceled():
        raise QgsProcessingException("gridplan was canceled")
    if code != 0:
        raise QgsProcessingException(f"gridplan failed (exit code {code}): " + "\n".join(lines[-5:]))
