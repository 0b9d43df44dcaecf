"""Generate the synthetic KEMDy19/KEMDy20-format demo corpus of mate-hf.

Usage (from the repository root)::

    .venv/bin/python -m demo_corpus.generator            # writes demo_corpus/
    .venv/bin/python -m demo_corpus.generator --out DIR  # writes DIR/ instead
    .venv/bin/python demo_corpus/make_demo_corpus.py     # the same, as a script (same options)

Options: ``--out DIR``, ``--seed N`` (another seed gives an independent corpus of the
same design), ``--jobs N`` (espeak-ng/sox runs in parallel, default 4).

Needs ``espeak-ng`` (Korean voice ``ko``) and ``sox`` on PATH and Python 3.10+
(standard library only). Everything is synthetic: the voices are espeak-ng,
the "evaluator votes" are sampled. The corpus is for demos and tests only.

What is written (all paths below the output directory)
------------------------------------------------------
``KEMDy19/`` -- the exact on-disk layout of ETRI's KEMDy19 (see SPEC.md 2-3)::

    KEMDy19/annotation/Session01_F_res.csv, Session01_M_res.csv, ... Session10_*
    KEMDy19/wav/Session01/Sess01_script01/Sess01_script01_F001.wav (+ .txt beside)

10 sessions (Session01..10); per session the dialogues ``SessNN_script01``,
``SessNN_script02``, ``SessNN_impro01``, ``SessNN_impro02`` (8-9 turns each);
Session04 additionally has ``Sess04_impro03``, a quick 30-turn exchange of very
short utterances whose annotation rows continue with the real corpus's known
broken turn 31 (see the quirks below). Turns alternate between the two actors
F (espeak voice ``ko+f3``) and M (``ko+m3``, lower pitch); the number in a
segment id is the turn number within the dialogue, the letter is who speaks.
Audio: mono 16-bit PCM wav at 8000 Hz, except ``Sess03_script01`` at
11025 Hz (readers must resample to 16 kHz anyway).

KEMDy19 annotation CSV (UTF-8, ``,``-separated, ``\\n`` line ends, 43 columns,
TWO header rows, then one data row per segment)::

    row 1: Numb,Wav,,ECG,,E4-EDA,,E4-TEMP,,Segment ID,Total Evaluation,,,Eval01,,,...,Eval10,,
    row 2: ,start,end,start,end,start,end,start,end,,Emotion,Valence,Arousal,Emotion,Valence,Arousal,...

Data row: Numb (= 1-based data row index), Wav start/end (nominal seconds,
cumulative within the dialogue), ECG/E4-EDA/E4-TEMP start/end (nominal),
Segment ID, Total Evaluation emotion (majority of the 10 votes; a tie is
joined with ``;`` in the reference class order), Total valence and arousal
(mean of the 10 evaluators, 2 decimals), then per evaluator: emotion name,
valence int 1-5, arousal int 1-5. Every file lists every segment of the
session in dialogue/turn order. The row of segment ``..._M003`` in the M file
is the speaker's emotion, in the F file the listener's (vice versa for F).

``KEMDy20/`` -- a tiny fixture in KEMDy20's layout (speaker labels only)::

    KEMDy20/annotation/Sess01_eval.csv, Sess02_eval.csv
    KEMDy20/wav/Session01/Sess01_script01_User002M_001.wav (+ .txt beside)

KEMDy20 eval CSV (UTF-8, ``,``, 37 columns). Public code that reads the real
KEMDy20 files selects columns 0-6 as Numb, Wav start, Wav end, Segment ID,
Total Evaluation emotion/valence/arousal and skips one sub-header line
(``read_csv(header=1)`` or ``read_csv().iloc[1:]``), with evaluator groups
named ``Eval01F``, ``Eval02M``, ...; so this fixture also has TWO header rows,
read by the same position-relative logic as KEMDy19 (no bio-signal columns)::

    row 1: Numb,Wav,,Segment ID,Total Evaluation,,,Eval01F,,,Eval02M,,,...,Eval10M,,
    row 2: ,start,end,,Emotion,Valence,Arousal,Emotion,Valence,Arousal,...

Evaluator genders: Eval01F Eval02M Eval03M Eval04F Eval05M Eval06F Eval07F
Eval08M Eval09F Eval10M. Segment ids ``SessNN_scriptMM_UserUUUG_TTT`` with
TTT the turn number within the dialogue and G the speaker's gender.

``manifest.json`` -- everything that was written and what a reader of the
corpus must report (see its ``schema`` key), ``README.md`` -- a summary.

Emotion design
--------------
Classes, in the reference order: disgust, angry, sad, fear, surprise, neutral,
happy. Neutral is the most frequent; every session has every class several
times in both roles. The audio carries the emotion through espeak-ng's pitch
(``-p``), speed (``-s``), amplitude (``-a``) and SSML pitch range, with
per-utterance jitter; the transcript carries it through its words. About 20%
of the utterances are ``audio_only`` (a neutral sentence with emotional
prosody), about 20% ``text_only`` (an emotional sentence with neutral prosody),
the rest ``both``. The listener's emotion differs from the speaker's in a
clear share of segments.

Planted quirks (nothing else is irregular; all are listed in the manifest)
-------------------------------------------------------------------------
1. ``disqust`` in one evaluator cell and in one Total Evaluation cell;
2. one transcript encoded in cp949 instead of UTF-8;
3. ties in the Total Evaluation (two per session and role, one 3-way);
4. one missing ``.wav`` (its ``.txt`` exists) and one missing ``.txt``;
5. one duplicated row of a Segment ID (different valence/arousal; keep first);
6. a mis-entered id in an F file: ``Sess03_impro02_M001`` where the segment
   is ``Sess03_impro02_F001`` (as in the real corpus);
7. the real corpus's known broken ids ``Sess04_impro03_F031`` (M file) and
   ``Sess04_impro03_M031`` (F file) at the same row; no audio for that turn.

Reproducibility
---------------
All choices come from one ``random.Random(seed)``, drawn in a fixed order (plan,
votes, quirks; KEMDy19 before KEMDy20): re-running reproduces byte-identical CSVs,
transcripts and README. The wav bytes (and the measured durations in the manifest)
depend on the installed espeak-ng/sox versions (made with espeak-ng 1.51 and SoX
14.4.2; sox runs without dither so the same versions give identical bytes).

Modules
-------
``cli`` (options) -> ``build`` (the whole run, in RNG order): ``plan`` (sessions,
dialogues, segments; ``texts`` for the transcripts), ``votes`` (annotation rows and
evaluator votes), ``quirks`` (one function per planted quirk), ``writing`` (CSVs,
transcripts), ``audio`` (espeak-ng/sox), ``manifest`` with ``expected`` (manifest.json)
and ``readme`` (README.md); ``model`` holds the shared records.
"""
