"""The voicetools browser app as a script: ``python apps/app.py`` (or ``gradio apps/app.py`` to
reload on edits while developing a tab). Same app as ``voicetools app``; the code lives in
``voicetools/app/`` so it is installed with the package.

Environment: ``VOICETOOLS_APP_MODEL`` picks the separation model (default: the shipped one).
"""

import os

from voicetools.app import build_app, launch_app

demo = build_app(model=os.environ.get("VOICETOOLS_APP_MODEL"))

if __name__ == "__main__":
    launch_app(demo)
