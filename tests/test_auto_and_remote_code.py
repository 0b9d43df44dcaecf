"""Saving, reloading through the Auto classes, and loading as remote code without the package."""

import ast
import inspect
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, AutoProcessor

from mate_hf import MateConfig, MateFeatureExtractor, MateModel, MateProcessor


@pytest.fixture
def saved(model, processor, tmp_path):
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    return tmp_path


def _example_inputs(processor, make_dialogue, sampling_rate):
    audio, text = make_dialogue(4, seed=7)
    return processor(audio=[audio, audio[:2]], text=[text, text[:2]], sampling_rate=sampling_rate)


def test_save_and_reload_gives_identical_outputs(model, processor, saved, make_dialogue, sampling_rate):
    inputs = _example_inputs(processor, make_dialogue, sampling_rate)
    reloaded = MateModel.from_pretrained(saved).eval()
    with torch.no_grad():
        assert torch.equal(model(**inputs).logits, reloaded(**inputs).logits)
    assert (saved / "model.safetensors").exists()
    assert not list(saved.glob("*.bin")) and not list(saved.glob("*.pt"))


def test_auto_classes_resolve_to_package_classes(saved):
    assert type(AutoConfig.from_pretrained(saved)) is MateConfig
    assert type(AutoModel.from_pretrained(saved)) is MateModel
    assert type(AutoFeatureExtractor.from_pretrained(saved)) is MateFeatureExtractor
    processor = AutoProcessor.from_pretrained(saved)
    assert type(processor) is MateProcessor and type(processor.feature_extractor) is MateFeatureExtractor


def test_saved_folder_carries_remote_code(saved):
    config = json.loads((saved / "config.json").read_text())
    assert config["auto_map"] == {"AutoConfig": "configuration_mate.MateConfig", "AutoModel": "modeling_mate.MateModel"}
    processor_config = json.loads((saved / "processor_config.json").read_text())
    assert processor_config["auto_map"]["AutoProcessor"] == "processing_mate.MateProcessor"
    for name in ("configuration_mate.py", "modeling_mate.py", "feature_extraction_mate.py", "processing_mate.py"):
        imported = set()
        for node in ast.walk(ast.parse((saved / name).read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module)
        # Docstring examples may say `from mate_hf import ...`; the code itself imports its siblings relatively.
        assert not any(module.split(".")[0] == "mate_hf" for module in imported), f"{name} imports the package"


def test_remote_code_loads_without_the_package(
    model, processor, saved, make_dialogue, sampling_rate, korean_sentences, tmp_path
):
    inputs = _example_inputs(processor, make_dialogue, sampling_rate)
    with torch.no_grad():
        expected = model(**inputs)
    np.save(tmp_path / "expected.npy", expected.logits.numpy())
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["mate_hf"] = None  # `import mate_hf` now fails, as for a user who never installed it
        import numpy as np, torch
        from transformers import AutoModel, AutoProcessor
        model = AutoModel.from_pretrained({str(saved)!r}, trust_remote_code=True).eval()
        processor = AutoProcessor.from_pretrained({str(saved)!r}, trust_remote_code=True)
        assert not type(model).__module__.startswith("mate_hf"), type(model).__module__
        from inputs_for_remote import SAMPLING_RATE, build, make_dialogue
        inputs = build(processor, make_dialogue, SAMPLING_RATE)
        with torch.no_grad():
            logits = model(**inputs).logits.numpy()
        difference = np.abs(logits - np.load({str(tmp_path / "expected.npy")!r})).max()
        print("max difference", difference)
        assert difference < 1e-6
        """
    )
    # The subprocess rebuilds the same inputs from the same generator code, copied without package imports.
    (tmp_path / "inputs_for_remote.py").write_text(
        _standalone_input_builder(make_dialogue, sampling_rate, korean_sentences)
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "max difference" in result.stdout


def _standalone_input_builder(make_dialogue, sampling_rate: int, korean_sentences: list[str]) -> str:
    """A module defining `build(processor, make_dialogue, SAMPLING_RATE)` and `make_dialogue`, from their source,
    with the globals `make_dialogue` reads."""
    return "\n".join(
        [
            "import numpy as np",
            f"SAMPLING_RATE = {sampling_rate}",
            f"KOREAN_SENTENCES = {korean_sentences!r}",
            inspect.getsource(make_dialogue),
            inspect.getsource(_example_inputs).replace("_example_inputs", "build"),
        ]
    )
