"""The Gradio Space (space/app.py) in a real headless Chromium: upload, transcript, Predict, read the result.

Needs Debian's chromium and chromium-driver (`.ci/install-browser` installs them); without them the test
fails rather than skips, since CI installs them.
"""

import importlib.util
import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from transformers import pipeline

from mate_hf import TASK, MateModel, MateProcessor, save_mate_folder

APP = Path(__file__).resolve().parent.parent / "space" / "app.py"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# As root on a machine whose only network is loopback: no sandbox, no background connections.
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1100",
]
TIMEOUT = 30


def _load_app():
    spec = importlib.util.spec_from_file_location("mate_space_app", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def model_folder(build_tiny_mate, tmp_path):
    """A tiny MATE with a 2 s window, saved as a complete folder (remote code and pipeline included)."""
    # initializer_range: untrained outputs far from uniform, so the top label is clear
    model, processor = build_tiny_mate(n_mels=32, hop_length=512, initializer_range=0.5)
    return save_mate_folder(tmp_path / "model", model, processor)


@pytest.fixture
def browser(tmp_path):
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: run .ci/install-browser (Debian chromium and chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_space_predicts_in_a_browser(
    model_folder, browser, korean_sentences, sampling_rate, tmp_path, monkeypatch, record_property
):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    def shown_text(css: str):
        """A waiting condition: the element's text once it is shown and not empty."""
        return lambda driver: driver.find_element(By.CSS_SELECTOR, css).text.strip() or None

    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    app = _load_app()
    pipe = app.load_pipeline(model_folder)
    assert type(pipe).__module__.startswith("transformers_modules"), "the Space should run the folder's own code"

    # 5 s: segments 0–2, 2–4 and 4–5 s of the 2 s window.
    rng = np.random.default_rng(0)
    t = np.arange(5 * sampling_rate) / sampling_rate
    wav = tmp_path / "utterance.wav"
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) + rng.normal(0, 0.02, t.shape)
    soundfile.write(wav, tone.astype(np.float32), sampling_rate)
    transcript = korean_sentences[0]
    # The installed package's classes, not the folder's remote code the app runs.
    installed = pipeline(
        TASK,
        model=MateModel.from_pretrained(model_folder).eval(),
        processor=MateProcessor.from_pretrained(model_folder),
    )
    expected = installed(str(wav), transcript=transcript)
    assert len(expected["segments"]) == 3

    demo = app.build_demo(pipe)
    port = _free_port()
    started = time.perf_counter()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        wait = WebDriverWait(
            browser, TIMEOUT, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
        )
        browser.get(f"http://127.0.0.1:{port}/")
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#predict"))).click()  # no audio yet
        toast = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=toast-body]")))
        assert "No audio" in toast.text
        toast.find_element(By.CSS_SELECTOR, "[data-testid=toast-close]").click()

        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#audio input[type=file]"))).send_keys(str(wav))
        # Once uploaded, the drop zone gives way to the player.
        wait.until(ec.invisibility_of_element_located((By.CSS_SELECTOR, "#audio input[type=file]")))
        browser.find_element(By.CSS_SELECTOR, "#transcript textarea").send_keys(transcript)
        browser.find_element(By.CSS_SELECTOR, "#predict").click()

        top = wait.until(shown_text("#emotion [data-testid=label-output-value]"))
        wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#affect img")))
        details = wait.until(shown_text("#details"))
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1280, height + 200)  # the whole page in the screenshot
        screenshot = tmp_path / "space.png"
        browser.save_screenshot(str(screenshot))
        record_property("screenshot", str(screenshot))
        print(f"\nscreenshot of the Space: {screenshot} ({time.perf_counter() - started:.1f} s from launch)")

        assert top == expected["emotions"][0]["label"]
        assert "audio+text" in details and "4.0–5.0" in details  # the last segment's times
        bars = browser.find_elements(By.CSS_SELECTOR, "#emotion dl")
        assert len(bars) == len(expected["emotions"]) == 7
    finally:
        demo.close()


def test_space_handler_says_what_is_wrong_and_which_inputs_it_used(
    model_folder, korean_sentences, sampling_rate, tmp_path
):
    import gradio as gr

    app = _load_app()
    pipe = app.load_pipeline(model_folder)
    with pytest.raises(gr.Error, match="No audio"):
        app.predict(pipe, None, "안녕하세요")
    (tmp_path / "notes.wav").write_text("not audio")
    with pytest.raises(gr.Error, match="Cannot read this audio file"):
        app.predict(pipe, str(tmp_path / "notes.wav"), "")
    soundfile.write(tmp_path / "empty.wav", np.zeros(0, np.float32), sampling_rate)
    with pytest.raises(gr.Error, match="empty"):
        app.predict(pipe, str(tmp_path / "empty.wav"), "")

    wav = tmp_path / "short.wav"
    soundfile.write(wav, np.random.default_rng(1).normal(0, 0.1, sampling_rate).astype(np.float32), sampling_rate)
    scores, figure, details = app.predict(pipe, str(wav), korean_sentences[1])
    assert len(scores) == 7 and abs(sum(scores.values()) - 1) < 1e-5
    assert "audio+text" in details and app.AUDIO_ONLY_NOTE not in details
    assert figure.axes[0].get_xlim() == (1, 5) and figure.axes[0].get_ylim() == (1, 5)
    scores_alone, _, details_alone = app.predict(pipe, str(wav), "   ")
    assert app.AUDIO_ONLY_NOTE in details_alone and scores_alone != scores
    with pytest.raises(FileNotFoundError, match="save_mate_folder"):
        app.load_pipeline(tmp_path / "nowhere")
