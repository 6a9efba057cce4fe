"""One module per app tab; each defines ``TAB = TabSpec(...)`` and is listed in ``app/registry.py``.

Helpers every tab's handlers share live here.
"""


def user_error(exc, title: str):
    """A ``gr.Error`` for a ``VoicetoolsError``: its one line, a title, shown until closed, no traceback."""
    import gradio as gr

    return gr.Error(str(exc), title=title, duration=None, print_exception=False)


def upload_checker(ctx):
    """An ``upload`` handler running the app's checks on a new file, so a bad one is reported at once."""
    from ...errors import VoicetoolsError

    def check_handler(audio_path):
        if audio_path:
            try:
                ctx.check_upload(audio_path)
            except VoicetoolsError as exc:
                raise user_error(exc, "Cannot use this audio") from None

    return check_handler


def show_warnings(notes) -> None:
    """Each soft problem as a ``gr.Warning`` toast, capitalised, with a full stop."""
    import gradio as gr

    for note in notes:
        gr.Warning(note[0].upper() + note[1:] + ".")
