"""What the tabs that turn one recording into stems share (Separate: S/A/T/B; Vocals: vocals and
accompaniment): the result page — a spectrogram player and a download per stem, and a zip of all —
and the layout — input, button, examples, help text, zip, players.

(No ``from __future__ import annotations`` here: gradio reads the handler's ``gr.Request`` hint.)
"""

import warnings
import zipfile
from dataclasses import dataclass
from typing import Callable

from ...errors import VoicetoolsError
from ..player import PLAYER_CSS, PLAYER_JS, player_html, players_html, png_data_uri, spectrogram_db, spectrogram_rgb
from . import show_warnings, upload_checker, user_error

# spectrograms show up to this frequency (or the model's band, if narrower): voices and harmonics
SPECTROGRAM_F_MAX_HZ = 8000.0


@dataclass(frozen=True)
class StemsTab:
    """The words and parts of one stems tab. ``run(path, model, callback)`` returns a result with
    ``stems`` ({name: (channels, time) or (time,)}), ``sample_rate``, ``model`` and ``warnings``."""

    key: str  # also the API name and the element-id prefix (vt-<key>-...)
    task: str  # the AppSettings.models key of its model
    run: Callable
    titles: dict
    input_label: str
    button: str
    examples_label: str
    help: str  # Markdown; {model}, {limits} are filled in
    zip_label: str
    zip_suffix: str
    placeholder: str
    progress: str  # "Separating voices: chunk {done} of {total}"
    done: str  # "separated", in the summary line
    error_title: str
    fake_stems: str  # what a random-weight tiny model's stems are not


def run_stems(ctx, tab: StemsTab, audio_path, *, session=None, progress=None):
    """Run ``tab.run`` on one upload; returns ``(players_html, zip_path, notes)``.

    Raises ``VoicetoolsError`` (with the user's file name, never a server path) for bad input.
    """
    import torch

    from ...audio.io import save_audio
    from ..context import safe_stem

    report = progress or (lambda *args, **kwargs: None)
    upload = ctx.check_upload(audio_path)
    model = ctx.model(tab.task)
    report(0.0, desc="Reading audio")

    def on_chunk(stage, done, total):
        report((done, total), desc=tab.progress.format(done=done, total=total), unit="chunks")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # soft problems come back in result.warnings
            result = tab.run(upload.path, model=model, callback=on_chunk)
    except VoicetoolsError as exc:
        raise type(exc)(ctx.user_message(exc, upload.path)) from None

    report(0.95, desc="Drawing spectrograms")
    out, base, sr = ctx.store.new_dir(session), safe_stem(upload.name), result.sample_rate
    f_max = min(SPECTROGRAM_F_MAX_HZ, model.sample_rate / 2)
    paths, dbs = {}, {}
    for name, x in result.stems.items():
        x = torch.as_tensor(x)
        paths[name] = save_audio(out / f"{base}-{name}.wav", x, sr)
        dbs[name] = spectrogram_db(x.reshape(-1, x.shape[-1]).mean(0), sr, f_max_hz=f_max)
    loudest = max(float(d.max()) for d in dbs.values())  # one colour scale: quiet stems look quiet
    players = [player_html(name=name, title=tab.titles.get(name), audio_url=ctx.store.url(paths[name]),
                           image_uri=png_data_uri(spectrogram_rgb(dbs[name], ref_db=loudest)),
                           duration_s=upload.duration_s, download_name=paths[name].name)
               for name in result.stems]
    zip_path = out / f"{base}-{tab.zip_suffix}.zip"
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for p in paths.values():
            z.write(p, arcname=p.name)
    notes = list(result.warnings)
    if result.model.startswith("tiny-"):
        notes.append(f"{result.model} is a random-weight test model: its {tab.fake_stems}")
    summary = f"{upload.name}: {upload.duration_s:.1f} s at {sr} Hz, {tab.done} with {result.model}."
    note = " ".join([summary] + [n[0].upper() + n[1:] + "." for n in notes])
    return players_html(players, note=note), str(zip_path), notes


def build_stems_tab(ctx, tab: StemsTab) -> None:
    """Lay out ``tab`` inside the current ``gr.Tab`` and wire its events."""
    import gradio as gr

    from ..context import format_duration

    s = ctx.settings
    players = gr.HTML(tab.placeholder, js_on_load=PLAYER_JS, css_template=PLAYER_CSS, apply_default_css=False,
                      elem_id=f"vt-{tab.key}-players", render=False)
    zip_out = gr.File(label=tab.zip_label, elem_id=f"vt-{tab.key}-zip", interactive=False, render=False)

    def stems_handler(audio_path, request: gr.Request = None, progress=gr.Progress()):
        try:
            html, zip_path, notes = run_stems(ctx, tab, audio_path, session=getattr(request, "session_hash", None),
                                              progress=progress)
        except VoicetoolsError as exc:
            raise user_error(exc, tab.error_title) from None
        show_warnings(notes)
        return html, zip_path

    stems_handler.__name__ = f"{tab.key}_handler"  # gradio names the event after it

    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            audio_in = gr.Audio(sources=["upload", "microphone"], type="filepath", label=tab.input_label,
                                elem_id=f"vt-{tab.key}-input")
            run = gr.Button(tab.button, variant="primary", elem_id=f"vt-{tab.key}-run")
            examples = None
            if s.examples:
                examples = gr.Examples(examples=[[str(p)] for p in s.examples], inputs=[audio_in],
                                       cache_examples=False, label=tab.examples_label,
                                       elem_id=f"vt-{tab.key}-examples")
        with gr.Column(scale=1, min_width=320):
            limits = (f"Up to {s.max_upload_mb:g} MB and {format_duration(s.max_duration_s)} per file "
                      "(WAV, FLAC, OGG, MP3, AIFF).")
            gr.Markdown(tab.help.format(model=s.models.get(tab.task), limits=limits), elem_id=f"vt-{tab.key}-help")
            zip_out.render()
    players.render()

    # the quick header check is not queued behind running jobs
    audio_in.upload(upload_checker(ctx), inputs=[audio_in], outputs=None, api_visibility="private",
                    show_progress="hidden", concurrency_limit=None)
    # the button and an example click share one concurrency limit (the app's --concurrency)
    run.click(stems_handler, inputs=[audio_in], outputs=[players, zip_out], api_name=tab.key,
              concurrency_id=tab.key, concurrency_limit=s.concurrency)
    if examples is not None:
        examples.load_input_event.then(stems_handler, inputs=[audio_in], outputs=[players, zip_out],
                                       api_visibility="private", concurrency_id=tab.key,
                                       concurrency_limit=s.concurrency)
    ctx.handlers[tab.key] = stems_handler
