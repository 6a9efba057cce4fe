"""Helpers every tab's handlers share: errors, the upload check, the Run chain (button disabled while its job
runs), cached examples, and soft warnings."""

import html

from ...errors import VoicetoolsError
from ..context import AUDIO_FORMATS, EXAMPLES_SESSION, format_duration

# Closes the toasts of earlier messages, so a new upload or job starts clean and no message is
# ever shown twice (gradio stacks them as "Error (2)" in one toast).
CLOSE_TOASTS = "document.querySelectorAll('.toast-body .toast-close').forEach((b) => b.click());"


def user_error(exc, title: str):
    """A ``gr.Error`` for a ``VoicetoolsError``: a title, its one line, shown until closed, no traceback.

    Gradio 6 heads every error toast "Error" and does not show ``title``, so the title also leads the
    message (the toast renders it as HTML; the user's file name is escaped).
    """
    import gradio as gr

    message = f'<strong class="vt-error-title">{html.escape(title)}</strong><br>{html.escape(str(exc), quote=False)}'
    return gr.Error(message, title=title, duration=None, print_exception=False)


def upload_checker(ctx):
    """An ``upload`` handler running the app's checks on a new file, so a bad one is reported at once."""

    def check_handler(audio_path):
        if audio_path:
            try:
                ctx.check_upload(audio_path)
            except VoicetoolsError as exc:
                raise user_error(exc, "Cannot use this audio") from None

    return check_handler


def check_uploads(ctx, audio_in) -> None:
    """Check every new file at once; a bad one gets one message and is taken out of the box, so it
    can be neither played as a dead 0:00 player nor run again."""
    # the quick header check is not queued behind running jobs
    audio_in.upload(
        upload_checker(ctx),
        inputs=[audio_in],
        outputs=None,
        js=f"(x) => {{ {CLOSE_TOASTS} return x; }}",
        api_visibility="private",
        show_progress="hidden",
        concurrency_limit=None,
    ).failure(lambda: None, None, [audio_in], queue=False, show_progress="hidden", api_visibility="private")


def wire_job(ctx, *, key: str, fn, inputs, outputs, run, progress_on, examples=None, concurrency_id=None) -> None:
    """Wire ``fn`` to the Run button (and to a click on one of ``examples``): earlier toasts close and
    Run is disabled, the job runs (its progress drawn over ``progress_on``; the button's job is the
    public API ``key``), then Run is enabled again, whatever happened. Both share one concurrency
    limit (the app's ``--concurrency``), per ``concurrency_id`` (default: ``key``)."""
    import gradio as gr

    listeners = [run.click] + ([examples.load_input_event.then] if examples is not None else [])
    for i, listen in enumerate(listeners):
        busy = listen(
            lambda: gr.Button(interactive=False),
            None,
            [run],
            js=f"() => {{ {CLOSE_TOASTS} }}",
            queue=False,
            show_progress="hidden",
            api_visibility="private",
        )
        job = busy.then(
            fn,
            inputs,
            outputs,
            api_name=key if i == 0 else None,
            api_visibility="public" if i == 0 else "private",
            concurrency_id=concurrency_id or key,
            concurrency_limit=ctx.settings.concurrency,
            show_progress_on=progress_on,
        )
        job.then(
            lambda: gr.Button(interactive=True),
            None,
            [run],
            queue=False,
            show_progress="hidden",
            api_visibility="private",
        )


def run_job(ctx, *, key: str, title: str, audio_path, params: tuple, compute, request=None):
    """Run ``compute(session)`` (which returns ``(*outputs, notes)``) for one request; an example's
    result is computed once and then served from the cache. Errors become one titled ``gr.Error``;
    notes become warnings. Returns the outputs."""
    example = ctx.example_of(audio_path)
    try:
        if example is None:
            out = compute(getattr(request, "session_hash", None))
        else:
            out = ctx.cached((key, example.name, *params), lambda: compute(EXAMPLES_SESSION))
    except VoicetoolsError as exc:
        raise user_error(exc, title) from None
    show_warnings(out[-1])
    return out[0] if len(out) == 2 else tuple(out[:-1])


def examples_box(key: str, inputs, rows, labels=None):
    """The tab's examples (one click loads and runs them), or None when it has none."""
    import gradio as gr

    if not rows:
        return None
    return gr.Examples(
        examples=rows,
        inputs=inputs,
        cache_examples=False,
        example_labels=labels,
        label="Examples: one click runs them",
        elem_id=f"vt-{key}-examples",
    )


def reporter(progress):
    """``progress`` (a ``gr.Progress``; None outside a page) as a function. Not ``progress or ...``:
    a ``gr.Progress`` is falsy until it tracks an iterable, which silently dropped every progress report."""
    return progress if progress is not None else (lambda *args, **kwargs: None)


def show_warnings(notes) -> None:
    """Each soft problem as a ``gr.Warning`` toast, capitalised, with a full stop."""
    import gradio as gr

    for note in notes:
        gr.Warning(note[0].upper() + note[1:] + ".")


def limits_text(ctx) -> str:
    """The upload limits in a sentence, for a tab's help text."""
    s = ctx.settings
    return f"Up to {s.max_upload_mb:g} MB and {format_duration(s.max_duration_s)} per file ({AUDIO_FORMATS})."


def player_area(key: str, placeholder: str, *, file_id: str, extra_css: str = ""):
    """The result area of a tab (players, plots, links) and a hidden file box that hands the main
    download to API clients: (players, file_out). Call inside ``gr.Blocks``."""
    import gradio as gr

    from ..player import PLAYER_CSS, PLAYER_JS, placeholder_html

    players = gr.HTML(
        placeholder_html(placeholder),
        js_on_load=PLAYER_JS,
        css_template=PLAYER_CSS + extra_css,
        apply_default_css=False,
        elem_id=f"vt-{key}-players",
    )
    return players, gr.File(visible=False, elem_id=f"vt-{key}-{file_id}", interactive=False)
