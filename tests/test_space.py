"""The Gradio Space (space/app.py) in a real headless Chromium: upload, transcript, Predict, read the result; the
Conversation tab: its demo-corpus examples, Analyse, the timeline and the table of utterances.

Needs Debian's chromium and chromium-driver (`.ci/install-browser` installs them); without them the test
fails rather than skips, since CI installs them. Screenshots of the page go to `$MATE_SCREENSHOT_DIR` when it is set
(kept for a person to look at), else to the test's temporary folder; their paths are printed (`pytest -s`) and
recorded as the tests' `screenshot` properties (in a JUnit XML report).
"""

import importlib.util
import os
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


def screenshot_path(tmp_path: Path, name: str) -> Path:
    """Where a screenshot goes: `$MATE_SCREENSHOT_DIR/name` when set (created), else the test's tmp_path."""
    folder = Path(os.environ.get("MATE_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def save_whole_page(browser, path: Path) -> None:
    """A screenshot of the whole page: the window grown to the page's height first."""
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, height + 200)
    browser.save_screenshot(str(path))


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
        screenshot = screenshot_path(tmp_path, "space.png")
        save_whole_page(browser, screenshot)
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
    # Longer than the 2 s window and no transcript: still one utterance in fixed windows, not cut at its pauses.
    soundfile.write(wav, np.random.default_rng(1).normal(0, 0.1, 5 * sampling_rate).astype(np.float32), sampling_rate)
    _, figure, details = app.predict(pipe, str(wav), "")
    assert "4.0–5.0" in details and len(figure.axes[0].lines[2].get_xdata()) == 3  # three segments plotted
    with pytest.raises(FileNotFoundError, match="save_mate_folder"):
        app.load_pipeline(tmp_path / "nowhere")


def _installed_pipeline(model_folder):
    """The installed package's classes on the folder, not the folder's remote code the app runs."""
    return pipeline(
        TASK,
        model=MateModel.from_pretrained(model_folder).eval(),
        processor=MateProcessor.from_pretrained(model_folder),
    )


def test_space_conversation_tab_in_a_browser(
    model_folder, browser, demo_kemdy19, tmp_path, monkeypatch, record_property
):
    """Both Conversation examples (the demo dialogue as one recording, and as turn files with transcripts): click,
    Analyse, and the timeline and a table of the 9 utterances appear; a screenshot of each."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    monkeypatch.setenv("MATE_DEMO_CORPUS", str(demo_kemdy19))
    app = _load_app()
    pipe = app.load_pipeline(model_folder)
    demo = app.build_demo(pipe, examples_folder=tmp_path / "examples")
    (recording_example, _, _), (_, turn_files, transcripts) = app.build_conversation_examples(
        demo_kemdy19, tmp_path / "expected"
    )[0]
    installed = _installed_pipeline(model_folder)
    by_voice = installed(recording_example, segmentation="vad")
    texts = transcripts.split("\n")
    by_turns = installed({"dialogue": [{"path": path, "text": text} for path, text in zip(turn_files, texts)]})
    assert len(by_voice["utterances"]) == len(by_turns) == 9  # the demo dialogue's 9 turns, found again by VAD

    def table_rows(driver):
        """The table's body rows as lists of cell texts, once it shows some (None before)."""
        grid = driver.find_element(By.CSS_SELECTOR, "#utterances [role=grid]")
        count = int(grid.get_attribute("aria-rowcount")) - 1  # less the header row
        rows = driver.find_elements(By.CSS_SELECTOR, "#utterances .virtual-row[role=row]")
        if count < 1 or len(rows) != count:
            return None
        return [[cell.text for cell in row.find_elements(By.CSS_SELECTOR, "[role=gridcell]")] for row in rows]

    port = _free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        wait = WebDriverWait(
            browser, TIMEOUT, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
        )
        browser.get(f"http://127.0.0.1:{port}/")
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#conversation-tab-button"))).click()
        examples = wait.until(
            lambda driver: driver.find_elements(By.CSS_SELECTOR, "#conversation-examples button.gallery-item") or None
        )
        assert [example.text for example in examples] == ["one recording (9 turns)", "9 turn files + transcripts"]

        # 1. The dialogue as one recording: voice activity cuts it into its utterances.
        examples[0].click()
        # Once it holds the recording, the drop zone gives way to the player.
        wait.until(ec.invisibility_of_element_located((By.CSS_SELECTOR, "#conversation-audio input[type=file]")))
        browser.find_element(By.CSS_SELECTOR, "#analyse").click()
        rows = wait.until(table_rows)
        wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#timeline img")))
        details = browser.find_element(By.CSS_SELECTOR, "#conversation-details").text
        screenshot = screenshot_path(tmp_path, "space-conversation-recording.png")
        save_whole_page(browser, screenshot)
        record_property("screenshot", str(screenshot))
        print(f"\nscreenshot of the Conversation tab (one recording): {screenshot}")
        assert len(rows) == len(by_voice["utterances"]) == 9
        assert "9 utterances found by voice activity" in details
        for number, (row, utterance) in enumerate(zip(rows, by_voice["utterances"]), start=1):
            assert row[0] == str(number) and float(row[1]) == pytest.approx(utterance["start"], abs=0.01)
            assert row[4] == utterance["emotions"][0]["label"]

        # 2. The dialogue as turn files with their transcripts.
        browser.set_window_size(1280, 1100)
        examples = browser.find_elements(By.CSS_SELECTOR, "#conversation-examples button.gallery-item")
        examples[1].click()
        wait.until(lambda driver: "09_" in driver.find_element(By.CSS_SELECTOR, "#turns").text or None)
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#conversation-audio input[type=file]")))
        browser.find_element(By.CSS_SELECTOR, "#analyse").click()
        wait.until(lambda driver: "9 turns" in driver.find_element(By.CSS_SELECTOR, "#conversation-details").text)
        rows = wait.until(table_rows)
        wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#timeline img")))
        screenshot = screenshot_path(tmp_path, "space-conversation-turns.png")
        save_whole_page(browser, screenshot)
        record_property("screenshot_turns", str(screenshot))
        print(f"screenshot of the Conversation tab (turn files): {screenshot}")
        assert len(rows) == len(by_turns) == 9
        for row, turn, path, text in zip(rows, by_turns, turn_files, texts):
            assert row[3] == Path(path).name and row[4] == text and row[5] == turn["emotions"][0]["label"]
    finally:
        demo.close()


def test_conversation_handler_says_what_is_wrong(model_folder, demo_kemdy19, sampling_rate, tmp_path):
    import gradio as gr

    app = _load_app()
    pipe = app.load_pipeline(model_folder)
    examples, labels = app.build_conversation_examples(demo_kemdy19, tmp_path / "examples")
    (recording, _, _), (_, turn_files, transcripts) = examples
    assert labels == ["one recording (9 turns)", "9 turn files + transcripts"]
    assert [Path(path).name[:3] for path in turn_files] == [f"{number:02d}_" for number in range(1, 10)]
    turn_seconds = sum(soundfile.info(path).duration for path in turn_files)
    assert soundfile.info(recording).duration == pytest.approx(turn_seconds + 10 * app.DEMO_PAUSE_S, abs=0.01)
    assert app.build_conversation_examples(None) == ([], [])

    with pytest.raises(gr.Error, match="No conversation"):
        app.analyse_conversation(pipe, None, [], "")
    with pytest.raises(gr.Error, match="not both"):
        app.analyse_conversation(pipe, recording, turn_files, "")
    with pytest.raises(gr.Error, match="Transcripts go with the turns"):
        app.analyse_conversation(pipe, recording, None, "안녕하세요")
    with pytest.raises(gr.Error, match="2 transcript lines for 9 turns"):
        app.analyse_conversation(pipe, None, turn_files, "안녕하세요\n반가워요")
    (tmp_path / "notes.wav").write_text("not audio")
    with pytest.raises(gr.Error, match=r"turn 2 \(notes.wav\)"):
        app.analyse_conversation(pipe, None, [turn_files[0], str(tmp_path / "notes.wav")], "")

    three_lines = "\n".join(transcripts.split("\n")[:3]) + "\n\n"  # blank lines at the end do not count
    figure, table, details = app.analyse_conversation(pipe, None, turn_files[:3], three_lines)
    assert list(table.columns) == ["#", "start (s)", "end (s)", "turn file", "transcript", "emotion", "score",
                                   "arousal", "valence"]  # fmt: skip
    assert len(table) == 3 and len(figure.axes[0].containers[0]) == 3 and "3 turns" in details
    figure, table, details = app.analyse_conversation(pipe, None, turn_files[:3], "\n너무 슬프고 외로워요\n")
    assert "1 of 3 with a transcript" in details and table["transcript"].tolist() == ["", "너무 슬프고 외로워요", ""]

    quiet = tmp_path / "quiet.wav"
    soundfile.write(
        quiet, np.random.default_rng(2).normal(0, 1e-4, 3 * sampling_rate).astype(np.float32), sampling_rate
    )
    figure, table, details = app.analyse_conversation(pipe, str(quiet), None, "")
    assert len(table) == 0 and "No speech found" in details and figure.get_suptitle() == "no speech found"
