"""What the tabs that turn one recording into stems share (Separate: S/A/T/B; Vocals: vocals and
accompaniment): the result page — a spectrogram player and a download per stem, and a zip of all —
and the layout — input, button, examples, help text, players.

(No ``from __future__ import annotations`` here: gradio reads the handler's ``gr.Request`` hint.)
"""

import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ...audio.io import save_audio
from ...errors import VoicetoolsError
from ..context import safe_stem
from ..player import (
    Download,
    format_size,
    player_html,
    players_html,
    spectrogram_db,
    spectrogram_plot,
)
from .common import check_uploads, examples_box, limits_text, player_area, reporter, run_job, wire_job

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
    help: str  # Markdown; {model}, {limits} are filled in
    zip_text: str  # "Download all stems": the zip link, before "(zip, 2.9 MB)"
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
    report = reporter(progress)
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
    players = []
    for name in result.stems:
        title = tab.titles.get(name, name.capitalize())
        size = format_size(paths[name].stat().st_size)
        plot = spectrogram_plot(
            dbs[name], duration_s=upload.duration_s, f_max_hz=f_max, ref_db=loudest, what=f"the {title.lower()} stem"
        )
        url = ctx.store.url(paths[name])
        players.append(
            player_html(
                name=name,
                title=title,
                audio_url=url,
                plot=plot,
                duration_s=upload.duration_s,
                audio_label=f"{title} stem",
                downloads=[Download(f"Download {title.lower()} (WAV, {size})", url, paths[name].name)],
            )
        )
    zip_path = out / f"{base}-{tab.zip_suffix}.zip"
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for p in paths.values():
            z.write(p, arcname=p.name)
    zip_link = Download(
        f"{tab.zip_text} (zip, {format_size(zip_path.stat().st_size)})", ctx.store.url(zip_path), zip_path.name
    )
    notes = list(result.warnings)
    if result.model.startswith("tiny-"):
        notes.append(f"{result.model} is a random-weight test model: its {tab.fake_stems}")
    summary = f"{upload.name}: {upload.duration_s:.1f} s at {sr} Hz, {tab.done} with {result.model}."
    note = " ".join([summary] + [n[0].upper() + n[1:] + "." for n in notes])
    return players_html(players, note=note, links=[zip_link]), str(zip_path), notes


def build_stems_tab(ctx, tab: StemsTab) -> None:
    """Lay out ``tab`` inside the current ``gr.Tab`` and wire its events."""
    import gradio as gr

    def stems_handler(audio_path, request: gr.Request = None, progress=gr.Progress()):
        return run_job(
            ctx,
            key=tab.key,
            title=tab.error_title,
            audio_path=audio_path,
            params=(),
            request=request,
            compute=lambda session: run_stems(ctx, tab, audio_path, session=session, progress=progress),
        )

    stems_handler.__name__ = f"{tab.key}_handler"  # gradio names the event after it

    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            audio_in = gr.Audio(
                sources=["upload", "microphone"], type="filepath", label=tab.input_label, elem_id=f"vt-{tab.key}-input"
            )
            run = gr.Button(tab.button, variant="primary", elem_id=f"vt-{tab.key}-run")
            examples = examples_box(tab.key, [audio_in], [[str(p)] for p in ctx.examples_for(tab.key)])
        with gr.Column(scale=1, min_width=320):
            gr.Markdown(
                tab.help.format(model=ctx.settings.models.get(tab.task), limits=limits_text(ctx)),
                elem_id=f"vt-{tab.key}-help",
            )
    # the zip is linked from the result; the hidden file box only hands it to API clients
    players, zip_out = player_area(tab.key, tab.placeholder, file_id="zip")

    check_uploads(ctx, audio_in)
    wire_job(
        ctx,
        key=tab.key,
        fn=stems_handler,
        inputs=[audio_in],
        outputs=[players, zip_out],
        run=run,
        examples=examples,
        progress_on=[players],
    )
    ctx.handlers[tab.key] = stems_handler
