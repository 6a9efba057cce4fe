"""The Vocals tab: a song in, vocals and accompaniment out, each with a spectrogram player, a
download link, and a zip of both.

``run_vocals`` is the gradio-free core (tests call it directly); ``build`` lays out the tab. The
model is ``AppSettings.models["vocals"]`` when set, else the shipped ``vocals-htdemucs-small``.
(No ``from __future__ import annotations`` here: gradio reads the handler's ``gr.Request`` hint.)
"""

import warnings
import zipfile

from ...errors import VoicetoolsError
from ..player import PLAYER_CSS, PLAYER_JS, player_html, players_html, png_data_uri, spectrogram_db, spectrogram_rgb
from ..registry import TabSpec
from . import show_warnings, upload_checker, user_error

TASK = "vocals"
TITLES = {"vocals": "Vocals", "accompaniment": "Accompaniment"}
PLACEHOLDER = ('<p class="vt-note">Vocals and accompaniment appear here, each with its spectrogram and a '
               'player: upload or record a song, or pick an example, then press Extract vocals.</p>')
SPECTROGRAM_F_MAX_HZ = 8000.0


def run_vocals(ctx, audio_path, *, session=None, progress=None):
    """Extract the vocals of one upload; returns ``(players_html, zip_path, notes)``.

    Raises ``VoicetoolsError`` (with the user's file name, never a server path) for bad input.
    """
    import torch

    from ...audio.io import save_audio
    from ...vocals import extract_vocals
    from ..context import safe_stem

    report = progress or (lambda *args, **kwargs: None)
    upload = ctx.check_upload(audio_path)
    model = ctx.model(TASK)
    report(0.0, desc="Reading audio")

    def on_chunk(stage, done, total):
        report((done, total), desc=f"Extracting vocals: segment {done} of {total}", unit="segments")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # soft problems come back in result.warnings
            result = extract_vocals(upload.path, model=model, callback=on_chunk)
    except VoicetoolsError as exc:
        raise type(exc)(ctx.user_message(exc, upload.path)) from None

    report(0.95, desc="Drawing spectrograms")
    out, base, sr = ctx.store.new_dir(session), safe_stem(upload.name), result.sample_rate
    paths = {name: save_audio(out / f"{base}-{name}.wav", torch.as_tensor(x), sr) for name, x in result.stems.items()}
    dbs = {name: spectrogram_db(torch.as_tensor(x).mean(0), sr, f_max_hz=SPECTROGRAM_F_MAX_HZ)
           for name, x in result.stems.items()}
    loudest = max(float(d.max()) for d in dbs.values())
    players = []
    for name in result.stems:
        image = png_data_uri(spectrogram_rgb(dbs[name], ref_db=loudest))
        players.append(player_html(name=name, title=TITLES.get(name), audio_url=ctx.store.url(paths[name]),
                                   image_uri=image, duration_s=upload.duration_s, download_name=paths[name].name))
    zip_path = out / f"{base}-vocals.zip"
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for p in paths.values():
            z.write(p, arcname=p.name)
    notes = list(result.warnings)
    if result.model.startswith("tiny-"):
        notes.append(f"{result.model} is a random-weight test model: its vocals are not real vocals")
    summary = f"{upload.name}: {upload.duration_s:.1f} s at {sr} Hz, vocals extracted with {result.model}."
    note = " ".join([summary] + [n[0].upper() + n[1:] + "." for n in notes])
    return players_html(players, note=note), str(zip_path), notes


def build(ctx):
    import gradio as gr

    from ..context import format_duration
    from ...vocals import DEFAULT_MODEL

    s = ctx.settings
    s.models.setdefault(TASK, DEFAULT_MODEL)
    ctx.model(TASK)  # load now: a wrong model fails before the server starts
    players = gr.HTML(PLACEHOLDER, js_on_load=PLAYER_JS, css_template=PLAYER_CSS, apply_default_css=False,
                      elem_id="vt-vocals-players", render=False)
    zip_out = gr.File(label="Vocals and accompaniment (zip)", elem_id="vt-vocals-zip", interactive=False,
                      render=False)

    def vocals_handler(audio_path, request: gr.Request = None, progress=gr.Progress()):
        try:
            html, zip_path, notes = run_vocals(ctx, audio_path, session=getattr(request, "session_hash", None),
                                               progress=progress)
        except VoicetoolsError as exc:
            raise user_error(exc, "Cannot extract vocals from this audio") from None
        show_warnings(notes)
        return html, zip_path

    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            audio_in = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Song",
                                elem_id="vt-vocals-input")
            run = gr.Button("Extract vocals", variant="primary", elem_id="vt-vocals-run")
            examples = None
            if s.examples:
                examples = gr.Examples(examples=[[str(p)] for p in s.examples], inputs=[audio_in],
                                       cache_examples=False, label="Examples: one click extracts the vocals",
                                       elem_id="vt-vocals-examples")
        with gr.Column(scale=1, min_width=320):
            gr.Markdown(f"Upload or record a song and press **Extract vocals**: you get the vocals and the "
                        f"accompaniment (the song minus the vocals), in the song's sample rate and channels. "
                        f"Up to {s.max_upload_mb:g} MB and {format_duration(s.max_duration_s)} per file "
                        f"(WAV, FLAC, OGG, MP3, AIFF). Model: `{s.models.get(TASK)}` (Demucs). "
                        "Click a spectrogram to jump there.", elem_id="vt-vocals-help")
            zip_out.render()
    players.render()

    audio_in.upload(upload_checker(ctx), inputs=[audio_in], outputs=None, api_visibility="private",
                    show_progress="hidden", concurrency_limit=None)
    run.click(vocals_handler, inputs=[audio_in], outputs=[players, zip_out], api_name="vocals",
              concurrency_id="vocals", concurrency_limit=s.concurrency)
    if examples is not None:
        examples.load_input_event.then(vocals_handler, inputs=[audio_in], outputs=[players, zip_out],
                                       api_visibility="private", concurrency_id="vocals",
                                       concurrency_limit=s.concurrency)
    ctx.handlers["vocals"] = vocals_handler


TAB = TabSpec(key="vocals", title="Vocals", build=build)
