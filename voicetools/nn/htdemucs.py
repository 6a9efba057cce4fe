"""demucs' own ``HTDemucs`` built from a voicetools config: the vocal model's network."""

from __future__ import annotations


def build_htdemucs(model_args: dict):
    """An ``HTDemucs`` from our config's ``model_args`` (its kwargs, with ``sample_rate`` for ``samplerate``).

    The instance keeps ``model_args`` so ``save_checkpoint`` can write it back.
    """
    from demucs.htdemucs import HTDemucs

    kwargs = {k: v for k, v in model_args.items() if k != "sample_rate"}
    model = HTDemucs(samplerate=int(model_args["sample_rate"]), **kwargs)
    model.model_args = dict(model_args)
    return model
