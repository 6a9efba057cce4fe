"""The Re-voice tab: a choir (or one voice) in; pick a new voice per part; listen before and after; download.

``run_revoice`` is the gradio-free core (tests call it directly); ``build`` lays out the tab. The
separation model is the app's (``AppSettings.models["separation"]``), the transcription model (for
``gm:`` and ``singing`` targets) the Transcribe tab's. (No ``from __future__ import annotations``
here: gradio reads the handler's ``gr.Request`` hint.)
"""

import warnings

from ...errors import VoicetoolsError
from ..player import PLAYER_CSS, PLAYER_JS, player_html, players_html, png_data_uri, spectrogram_db, spectrogram_rgb
from ..registry import TabSpec
from . import show_warnings, upload_checker, user_error

PARTS = ("soprano", "alto", "tenor", "bass")
CHOIR = "choir (separate S/A/T/B)"
GM_CHOICES = ("gm:clarinet", "gm:violin", "gm:flute", "gm:trumpet", "gm:choir_aahs")
PLACEHOLDER = ('<p class="vt-note">The input and its re-voiced version appear here, each with its spectrogram '
               'and a player: upload or record a choir or a solo, pick a target per part, then press Re-voice.</p>')
SPECTROGRAM_F_MAX_HZ = 8000.0


def target_choices() -> list[str]:
    """What a part can become in the dropdowns: keep, voice types, shipped timbres, GM programs, singing."""
    from ...checkpoints import available_models

    timbres = [n.removeprefix("timbre-") for n in available_models("timbre") if not n.startswith("tiny-")]
    return ["keep", *PARTS, *timbres, *GM_CHOICES, "singing"]


def run_revoice(ctx, audio_path, targets, *, voice=None, pitch=0.0, formant=1.0, breathiness=0.0, session=None,
                progress=None):
    """Re-voice one upload; ``targets`` maps part → target (the ``--map`` grammar, "keep" for none).
    Returns ``(players_html, wav_path, notes)``; raises ``VoicetoolsError`` naming the user's file."""
    import torch

    from ...audio.io import save_audio, to_mono
    from ...revoice import revoice
    from ..context import safe_stem

    report = progress or (lambda *args, **kwargs: None)
    upload = ctx.check_upload(audio_path)
    voice = None if voice in (None, "", CHOIR) else voice
    parts = [voice] if voice else list(PARTS)
    mapping = {p: t for p, t in (targets or {}).items() if p in parts and t and t != "keep"}
    needs_notes = any(str(t).startswith(("gm:", "singing")) for t in mapping.values())
    report(0.0, desc="Reading audio")

    def on_step(stage, done, total):
        report((done, total), desc=f"{'Separating' if stage == 'separate' else 'Re-voicing'}: {done} of {total}",
                unit="steps")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # soft problems come back in result.warnings
            result = revoice(upload.path, map=mapping, voice=voice, pitch=float(pitch or 0.0),
                             formant=float(formant or 1.0), breathiness=float(breathiness or 0.0),
                             separation_model=ctx.model("separation"),
                             transcription_model=ctx.model("transcription") if needs_notes else "voice2midi",
                             callback=on_step)
    except VoicetoolsError as exc:
        raise type(exc)(ctx.user_message(exc, upload.path)) from None

    report(0.95, desc="Drawing spectrograms")
    from ...audio.io import load_audio

    out, base, sr = ctx.store.new_dir(session), safe_stem(upload.name), result.sample_rate
    before = to_mono(load_audio(upload.path).samples)
    signals = {"before": before, "after": torch.as_tensor(result.audio)}
    paths = {"before": save_audio(out / f"{base}-original.wav", before, sr),
             "after": save_audio(out / f"{base}-revoiced.wav", signals["after"], sr)}
    dbs = {k: spectrogram_db(v.mean(0), sr, f_max_hz=SPECTROGRAM_F_MAX_HZ) for k, v in signals.items()}
    loudest = max(float(d.max()) for d in dbs.values())
    titles = {"before": "Before", "after": "After: " + ", ".join(f"{p} → {t}" for p, t in result.targets.items())}
    players = [player_html(name=k, title=titles[k], audio_url=ctx.store.url(paths[k]),
                           image_uri=png_data_uri(spectrogram_rgb(dbs[k], ref_db=loudest)),
                           duration_s=upload.duration_s, download_name=paths[k].name) for k in ("before", "after")]
    notes = list(result.warnings)
    if result.separation_model and result.separation_model.startswith("tiny-"):
        notes.append(f"{result.separation_model} is a random-weight test model: its parts are not real voices")
    summary = f"{upload.name}: {upload.duration_s:.1f} s at {sr} Hz, re-voiced."
    note = " ".join([summary] + [n[0].upper() + n[1:] + "." for n in notes])
    return players_html(players, note=note), str(paths["after"]), notes


def build(ctx):
    import gradio as gr

    from ..context import format_duration

    s = ctx.settings
    ctx.model("separation")
    choices = target_choices()
    players = gr.HTML(PLACEHOLDER, js_on_load=PLAYER_JS, css_template=PLAYER_CSS, apply_default_css=False,
                      elem_id="vt-revoice-players", render=False)
    file_out = gr.File(label="Re-voiced audio (WAV)", elem_id="vt-revoice-file", interactive=False, render=False)

    def revoice_handler(audio_path, voice, soprano, alto, tenor, bass, pitch, formant, breathiness,
                        request: gr.Request = None, progress=gr.Progress()):
        try:
            html, path, notes = run_revoice(
                ctx, audio_path, {"soprano": soprano, "alto": alto, "tenor": tenor, "bass": bass}, voice=voice,
                pitch=pitch, formant=formant, breathiness=breathiness,
                session=getattr(request, "session_hash", None), progress=progress)
        except VoicetoolsError as exc:
            raise user_error(exc, "Cannot re-voice this audio") from None
        show_warnings(notes)
        return html, path

    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            audio_in = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Choir or solo",
                                elem_id="vt-revoice-input")
            voice = gr.Dropdown([CHOIR, *PARTS], value=CHOIR, label="The input is", elem_id="vt-revoice-voice")
            with gr.Row():
                dropdowns = [gr.Dropdown(choices, value="keep", label=f"{p.capitalize()} becomes",
                                         elem_id=f"vt-revoice-{p}", allow_custom_value=True) for p in PARTS]
            with gr.Row():
                pitch = gr.Number(0, label="Transpose every part (semitones)", elem_id="vt-revoice-pitch")
                formant = gr.Slider(0.7, 1.4, value=1.0, step=0.01, label="Formant factor",
                                    elem_id="vt-revoice-formant")
                breath = gr.Slider(0.0, 1.0, value=0.0, step=0.05, label="Breathiness", elem_id="vt-revoice-breath")
            run = gr.Button("Re-voice", variant="primary", elem_id="vt-revoice-run")
            if s.examples:
                gr.Examples(examples=[[str(p)] for p in s.examples], inputs=[audio_in], cache_examples=False,
                            label="Examples", elem_id="vt-revoice-examples")
        with gr.Column(scale=1, min_width=320):
            gr.Markdown(
                "Pick what each part becomes and press **Re-voice**: a **voice type** keeps the singer and "
                "moves pitch (by octaves into that voice's range) and formants; a **timbre** (`synth-choir`, "
                "`clarinet`) re-synthesises the part with a learned model; **gm:** programs and **singing** "
                "transcribe the part and play it again. A choir is first separated into S/A/T/B; for a solo, "
                "set *The input is* to its voice type and use that part's target. Melody, timing and dynamics "
                f"stay. Up to {s.max_upload_mb:g} MB and {format_duration(s.max_duration_s)} per file. "
                "Same grammar as `voicetools revoice --map` (a custom value like `tenor:+0` works).",
                elem_id="vt-revoice-help")
            file_out.render()
    players.render()

    audio_in.upload(upload_checker(ctx), inputs=[audio_in], outputs=None, api_visibility="private",
                    show_progress="hidden", concurrency_limit=None)
    run.click(revoice_handler, inputs=[audio_in, voice, *dropdowns, pitch, formant, breath],
              outputs=[players, file_out], api_name="revoice", concurrency_id="revoice",
              concurrency_limit=s.concurrency)
    ctx.handlers["revoice"] = revoice_handler


TAB = TabSpec(key="revoice", title="Re-voice", build=build)
