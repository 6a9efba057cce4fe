"""The Re-voice tab: a choir (or one voice) in; pick a new voice per part; listen before and after; download.

``run_revoice`` is the gradio-free core (tests call it directly); ``build`` lays out the tab. The
separation model is the app's (``AppSettings.models["separation"]``), the transcription model (for
``gm:`` and ``singing`` targets) the Transcribe tab's. (No ``from __future__ import annotations``
here: gradio reads the handler's ``gr.Request`` hint.)
"""

import warnings

import torch

from ...audio.io import load_audio, save_audio, to_mono
from ...checkpoints import available_models
from ...errors import VoicetoolsError
from ...revoice import revoice
from ..context import safe_stem
from ..player import (
    Download,
    format_size,
    player_html,
    players_html,
    spectrogram_db,
    spectrogram_plot,
)
from ..registry import TabSpec
from .common import check_uploads, examples_box, limits_text, player_area, reporter, run_job, wire_job

PARTS = ("soprano", "alto", "tenor", "bass")
CHOIR = "choir (separate S/A/T/B)"
GM_CHOICES = ("gm:clarinet", "gm:violin", "gm:flute", "gm:trumpet", "gm:choir_aahs")
PLACEHOLDER = (
    "The input and its re-voiced version appear here, each with its spectrogram and a player: upload or "
    "record a choir or a solo, pick a target per part, then press Re-voice (or click the example)."
)
SPECTROGRAM_F_MAX_HZ = 8000.0
NOTHING_TO_DO = (
    "every part is set to “keep” and nothing is transposed, so the result is the input unchanged: "
    "pick a new voice for at least one part"
)


def target_choices() -> list[str]:
    """What a part can become in the dropdowns: keep, voice types, shipped timbres, GM programs, singing."""
    timbres = [n.removeprefix("timbre-") for n in available_models("timbre") if not n.startswith("tiny-")]
    return ["keep", *PARTS, *timbres, *GM_CHOICES, "singing"]


def run_revoice(
    ctx, audio_path, targets, *, voice=None, pitch=0.0, formant=1.0, breathiness=0.0, session=None, progress=None
):
    """Re-voice one upload; ``targets`` maps part → target (the ``--map`` grammar, "keep" for none).
    Returns ``(players_html, wav_path, notes)``; raises ``VoicetoolsError`` naming the user's file.

    When nothing would change (every part kept, no transposition, formant or breath), the input is
    given back as it is, with a note: running it through the separation would only lose what lies
    above the separation model's band (4 kHz for the 8 kHz ``satb-convtasnet``), since kept parts
    are its stems.
    """
    report = reporter(progress)
    upload = ctx.check_upload(audio_path)
    voice = None if voice in (None, "", CHOIR) else voice
    parts = [voice] if voice else list(PARTS)
    mapping = {p: t for p, t in (targets or {}).items() if p in parts and t and t != "keep"}
    needs_notes = any(str(t).startswith(("gm:", "singing")) for t in mapping.values())
    pitch, formant, breathiness = float(pitch or 0.0), float(formant or 1.0), float(breathiness or 0.0)
    report(0.0, desc="Reading audio")

    def on_step(stage, done, total):
        report(
            (done, total),
            desc=f"{'Separating' if stage == 'separate' else 'Re-voicing'}: {done} of {total}",
            unit="steps",
        )

    try:
        before = to_mono(load_audio(upload.path).samples)
        if not mapping and pitch == 0 and formant == 1 and breathiness == 0:
            after, sr, labels, notes = before, upload.sample_rate, {}, [NOTHING_TO_DO]
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # soft problems come back in result.warnings
                result = revoice(
                    upload.path,
                    map=mapping,
                    voice=voice,
                    pitch=pitch,
                    formant=formant,
                    breathiness=breathiness,
                    separation_model=ctx.model("separation"),
                    transcription_model=ctx.model("transcription") if needs_notes else "voice2midi",
                    callback=on_step,
                )
            after, sr, labels = torch.as_tensor(result.audio), result.sample_rate, result.targets
            notes = list(result.warnings)
            if result.separation_model and result.separation_model.startswith("tiny-"):
                notes.append(f"{result.separation_model} is a random-weight test model: its parts are not real voices")
    except VoicetoolsError as exc:
        raise type(exc)(ctx.user_message(exc, upload.path)) from None

    report(0.95, desc="Drawing spectrograms")
    out, base = ctx.store.new_dir(session), safe_stem(upload.name)
    signals = {"before": before, "after": after}
    paths = {
        "before": save_audio(out / f"{base}-original.wav", before, sr),
        "after": save_audio(out / f"{base}-revoiced.wav", after, sr),
    }
    f_max = min(SPECTROGRAM_F_MAX_HZ, sr / 2)
    dbs = {k: spectrogram_db(v.mean(0), sr, f_max_hz=f_max) for k, v in signals.items()}
    loudest = max(float(d.max()) for d in dbs.values())
    changed = [f"{p} → {t}" for p, t in labels.items() if t != "keep"]  # the caption names what changed
    words = {
        "before": ("Before", "the input", "The input, in mono", "Download input"),
        "after": ("After", "the re-voiced audio", " · ".join(changed) or "Every part kept", "Download re-voiced"),
    }
    players = []
    for k in ("before", "after"):
        title, what, caption, link = words[k]
        url = ctx.store.url(paths[k])
        players.append(
            player_html(
                name=k,
                title=title,
                audio_url=url,
                duration_s=upload.duration_s,
                caption=caption,
                plot=spectrogram_plot(dbs[k], duration_s=upload.duration_s, f_max_hz=f_max, ref_db=loudest, what=what),
                audio_label=f"{title}: {what}",
                downloads=[Download(f"{link} (WAV, {format_size(paths[k].stat().st_size)})", url, paths[k].name)],
            )
        )
    summary = f"{upload.name}: {upload.duration_s:.1f} s at {sr} Hz, " + ("unchanged." if not labels else "re-voiced.")
    note = " ".join([summary] + [n[0].upper() + n[1:] + "." for n in notes])
    return players_html(players, note=note), str(paths["after"]), notes


def build(ctx):
    import gradio as gr

    ctx.model("separation")
    choices = target_choices()

    def revoice_handler(
        audio_path,
        voice,
        soprano,
        alto,
        tenor,
        bass,
        pitch,
        formant,
        breathiness,
        request: gr.Request = None,
        progress=gr.Progress(),
    ):
        targets = {"soprano": soprano, "alto": alto, "tenor": tenor, "bass": bass}
        return run_job(
            ctx,
            key="revoice",
            title="Cannot re-voice this audio",
            audio_path=audio_path,
            params=(voice, soprano, alto, tenor, bass, pitch, formant, breathiness),
            request=request,
            compute=lambda session: run_revoice(
                ctx,
                audio_path,
                targets,
                voice=voice,
                pitch=pitch,
                formant=formant,
                breathiness=breathiness,
                session=session,
                progress=progress,
            ),
        )

    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            audio_in = gr.Audio(
                sources=["upload", "microphone"], type="filepath", label="Choir or solo", elem_id="vt-revoice-input"
            )
            voice = gr.Dropdown([CHOIR, *PARTS], value=CHOIR, label="The input is", elem_id="vt-revoice-voice")
            gr.Markdown("**What each part becomes**", elem_id="vt-revoice-targets")
            with gr.Row():  # the four parts side by side, short labels so none wraps
                dropdowns = [
                    gr.Dropdown(
                        choices,
                        value="keep",
                        label=p.capitalize(),
                        min_width=110,
                        elem_id=f"vt-revoice-{p}",
                        allow_custom_value=True,
                    )
                    for p in PARTS
                ]
            with gr.Row():
                pitch = gr.Number(0, label="Transpose every part (semitones)", elem_id="vt-revoice-pitch")
                formant = gr.Slider(
                    0.7, 1.4, value=1.0, step=0.01, label="Formant factor", elem_id="vt-revoice-formant"
                )
                breath = gr.Slider(0.0, 1.0, value=0.0, step=0.05, label="Breathiness", elem_id="vt-revoice-breath")
            run = gr.Button("Re-voice", variant="primary", elem_id="vt-revoice-run")
            # the example changes one part, so the difference is easy to hear
            example_target = "clarinet" if "clarinet" in choices else "tenor"
            examples = examples_box(
                "revoice",
                [audio_in, voice, *dropdowns],
                [[str(p), CHOIR, example_target, "keep", "keep", "keep"] for p in ctx.examples_for("revoice")],
                [f"{p.name}: soprano → {example_target}" for p in ctx.examples_for("revoice")],
            )
        with gr.Column(scale=1, min_width=320):
            gr.Markdown(
                "Pick what each part becomes and press **Re-voice**: a **voice type** keeps the singer and "
                "moves pitch (by octaves into that voice's range) and formants; a **timbre** (`synth-choir`, "
                "`clarinet`) re-synthesises the part with a learned model; **gm:** programs and **singing** "
                "transcribe the part and play it again. A choir is first separated into S/A/T/B; for a solo, "
                "set *The input is* to its voice type and use that part's target. Melody, timing and dynamics "
                f"stay. {limits_text(ctx)} Same grammar as `voicetools revoice --map` (a custom value like "
                "`tenor:+0` works).",
                elem_id="vt-revoice-help",
            )
    # the WAV is linked from the result; the hidden file box only hands it to API clients
    players, file_out = player_area("revoice", PLACEHOLDER, file_id="file")

    check_uploads(ctx, audio_in)
    wire_job(
        ctx,
        key="revoice",
        fn=revoice_handler,
        inputs=[audio_in, voice, *dropdowns, pitch, formant, breath],
        outputs=[players, file_out],
        run=run,
        examples=examples,
        progress_on=[players],
    )
    ctx.handlers["revoice"] = revoice_handler


TAB = TabSpec(key="revoice", title="Re-voice", build=build)
