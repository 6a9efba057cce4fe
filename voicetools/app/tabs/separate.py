"""The Separate tab: a choir recording in, four stems out (S, A, T, B), each with a spectrogram
player, a download link, and a zip of all four.

``run_separation`` is the gradio-free core (tests call it directly); ``build`` lays out the tab.
(No ``from __future__ import annotations`` here: gradio reads the handler's ``gr.Request`` hint.)
"""

import warnings
import zipfile

from ...errors import VoicetoolsError
from ..player import PLAYER_CSS, PLAYER_JS, player_html, players_html, png_data_uri, spectrogram_db, spectrogram_rgb
from ..registry import TabSpec
from . import show_warnings, upload_checker, user_error

TITLES = {"soprano": "Soprano", "alto": "Alto", "tenor": "Tenor", "bass": "Bass"}
PLACEHOLDER = ('<p class="vt-note">The four voices appear here, each with its spectrogram and a player: '
               'upload or record a choir, or pick an example, then press Separate.</p>')
# spectrograms show up to this frequency (or the model's band, if narrower): voices and harmonics
SPECTROGRAM_F_MAX_HZ = 8000.0


def run_separation(ctx, audio_path, *, session=None, progress=None):
    """Separate one upload; returns ``(players_html, zip_path, notes)``.

    Raises ``VoicetoolsError`` (with the user's file name, never a server path) for bad input.
    """
    import torch

    from ...audio.io import save_audio
    from ...separation import separate
    from ..context import safe_stem

    report = progress or (lambda *args, **kwargs: None)
    upload = ctx.check_upload(audio_path)
    model = ctx.model("separation")
    report(0.0, desc="Reading audio")

    def on_chunk(stage, done, total):
        report((done, total), desc=f"Separating voices: chunk {done} of {total}", unit="chunks")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # soft problems come back in result.warnings
            result = separate(upload.path, model=model, callback=on_chunk)
    except VoicetoolsError as exc:
        raise type(exc)(ctx.user_message(exc, upload.path)) from None

    report(0.95, desc="Drawing spectrograms")
    out = ctx.store.new_dir(session)
    base = safe_stem(upload.name)
    sr = result.sample_rate
    paths, dbs = {}, {}
    for name, x in result.stems.items():
        x = torch.as_tensor(x)
        paths[name] = save_audio(out / f"{base}-{name}.wav", x, sr)
        dbs[name] = spectrogram_db(x, sr, f_max_hz=min(SPECTROGRAM_F_MAX_HZ, model.sample_rate / 2))
    ref_db = max(float(d.max()) for d in dbs.values())
    players = [player_html(name=name, title=TITLES.get(name), audio_url=ctx.store.url(paths[name]),
                           image_uri=png_data_uri(spectrogram_rgb(dbs[name], ref_db=ref_db)),
                           duration_s=upload.duration_s, download_name=paths[name].name)
               for name in result.stems]
    zip_path = out / f"{base}-stems.zip"
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for p in paths.values():
            z.write(p, arcname=p.name)
    notes = list(result.warnings)
    if result.model.startswith("tiny-"):
        notes.append(f"{result.model} is a random-weight test model: its stems are not real voices")
    summary = f"{upload.name}: {upload.duration_s:.1f} s at {sr} Hz, separated with {result.model}."
    return players_html(players, note=" ".join([summary] + [n[0].upper() + n[1:] + "." for n in notes])), \
        str(zip_path), notes


def build(ctx):
    import gradio as gr

    from ..context import format_duration

    s = ctx.settings
    players = gr.HTML(PLACEHOLDER, js_on_load=PLAYER_JS, css_template=PLAYER_CSS, apply_default_css=False,
                      elem_id="vt-separate-players", render=False)
    zip_out = gr.File(label="All four stems (zip)", elem_id="vt-separate-zip", interactive=False, render=False)

    def separate_handler(audio_path, request: gr.Request = None, progress=gr.Progress()):
        try:
            html, zip_path, notes = run_separation(ctx, audio_path, session=getattr(request, "session_hash", None),
                                                   progress=progress)
        except VoicetoolsError as exc:
            raise user_error(exc, "Cannot separate this audio") from None
        show_warnings(notes)
        return html, zip_path

    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            audio_in = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Choir recording",
                                elem_id="vt-separate-input")
            run = gr.Button("Separate", variant="primary", elem_id="vt-separate-run")
            examples = None
            if s.examples:
                examples = gr.Examples(examples=[[str(p)] for p in s.examples], inputs=[audio_in],
                                       cache_examples=False, label="Examples: one click separates them",
                                       elem_id="vt-separate-examples")
        with gr.Column(scale=1, min_width=320):
            gr.Markdown(f"Upload or record a choir (soprano, alto, tenor, bass) and press **Separate**. "
                        f"Up to {s.max_upload_mb:g} MB and {format_duration(s.max_duration_s)} per file "
                        f"(WAV, FLAC, OGG, MP3, AIFF). Model: `{s.models.get('separation')}`. "
                        "Click a spectrogram to jump there.", elem_id="vt-separate-help")
            zip_out.render()
    players.render()

    # the quick header check is not queued behind running separations
    audio_in.upload(upload_checker(ctx), inputs=[audio_in], outputs=None, api_visibility="private",
                    show_progress="hidden", concurrency_limit=None)
    # the button and an example click share one concurrency limit (the app's --concurrency)
    run.click(separate_handler, inputs=[audio_in], outputs=[players, zip_out], api_name="separate",
              concurrency_id="separate", concurrency_limit=s.concurrency)
    if examples is not None:
        examples.load_input_event.then(separate_handler, inputs=[audio_in], outputs=[players, zip_out],
                                       api_visibility="private", concurrency_id="separate",
                                       concurrency_limit=s.concurrency)
    ctx.handlers["separate"] = separate_handler


TAB = TabSpec(key="separate", title="Separate", build=build, task="separation")
