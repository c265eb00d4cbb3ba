"""Quick runs of the gallery's sequence-model examples 13-18 (issue 15): each asserts the number
that shows its idea worked, loosely (quick-mode thresholds well above what a failed idea gives),
and that its figure was written. Examples on real data skip when GANGLION_DATA lacks it."""
import math
import os
from pathlib import Path

import pytest
from example_runner import run_example

DATA = Path(os.environ.get("GANGLION_DATA", ""))
needs_mnist = pytest.mark.skipif(
    not (DATA / "mnist").is_dir(), reason="MNIST not found: set GANGLION_DATA to a folder "
    "holding mnist/")
needs_shakespeare = pytest.mark.skipif(
    not (DATA / "tinyshakespeare" / "input.txt").is_file(),
    reason="Tiny Shakespeare not found: set GANGLION_DATA to a folder holding "
           "tinyshakespeare/input.txt")


@needs_mnist
def test_rnn_and_lstm_read_mnist_row_by_row(tmp_path):
    results = run_example("13_rnn_mnist_rows", tmp_path)
    # 10 classes: chance is 10%; a quarter of an epoch on 3,000 images gets well above it
    assert results["rnn_accuracy"] > 0.25
    assert results["lstm_accuracy"] > 0.25
    assert results["lstm_parameters"] == 4 * (28 * 128 + 128 * 128 + 2 * 128) + 128 * 10 + 10
    assert (tmp_path / "rnn_mnist_rows.png").is_file()


def test_rnn_predicts_cosine_from_sine_by_carrying_its_state(tmp_path):
    results = run_example("14_rnn_regression", tmp_path)
    # no function of sin(t) alone does better than 0.5; the RNN's memory does
    assert results["carried_mse"] < 0.05
    # resetting the state at each chunk loses the direction at chunk starts
    assert results["reset_mse"] > 2 * results["carried_mse"]
    assert (tmp_path / "rnn_regression.png").is_file()


def test_gradients_vanish_and_explode_as_the_weights_scale_and_clipping_helps(tmp_path):
    results = run_example("15_vanishing_exploding_gradients", tmp_path)
    # in tanh's linear range the gradient reaching step 0 scales exactly as scale^(T-1)
    for scale in (0.9, 1.1):
        assert math.isclose(results[f"rnn_{scale}_ratio"],
                            results[f"rnn_{scale}_expected_ratio"], rel_tol=1e-3)
    # LSTM: forget bias 0 vanishes whatever the weights' scale, forget bias 4 keeps it
    assert results["lstm_0.9_bias0_ratio"] < 1e-8
    assert results["lstm_1.1_bias0_ratio"] < 1e-8
    assert 0.3 < results["lstm_0.9_bias4_ratio"] < 3
    assert 0.3 < results["lstm_1.1_bias4_ratio"] < 3
    # both clippings learn where unclipped SGD stays near the loss of predicting 0 (1.0)
    assert results["loss_norm"] < 0.8 * results["loss_none"]
    assert results["loss_value"] < 0.8 * results["loss_none"]
    assert (tmp_path / "vanishing_exploding_gradients.png").is_file()


@needs_shakespeare
def test_char_lstm_beats_character_frequencies(tmp_path):
    results = run_example("16_char_lstm_shakespeare", tmp_path, "--temperature", "0.5")
    assert results["character_entropy_bits"] == pytest.approx(4.77, abs=0.01)
    # a model without context cannot beat the characters' entropy on average
    assert results["validation_bits_per_character"] < results["character_entropy_bits"] - 0.3
    assert results["sample"].startswith("ROMEO:\n") and len(results["sample"]) == 7 + 200
    assert (tmp_path / "char_lstm_shakespeare.png").is_file()


def test_temperature_must_be_positive(tmp_path, capsys):
    with pytest.raises(SystemExit):
        run_example("16_char_lstm_shakespeare", tmp_path, "--temperature", "0")
    assert "--temperature must be positive, got 0.0" in capsys.readouterr().err


def test_english_number_names():
    from example_runner import load_example
    in_words = load_example("17_seq2seq_numbers").in_words
    assert [in_words(n) for n in (0, 13, 40, 45, 100, 101, 999, 1000, 4071, 9999)] == [
        "zero", "thirteen", "forty", "forty five", "one hundred", "one hundred one",
        "nine hundred ninety nine", "one thousand", "four thousand seventy one",
        "nine thousand nine hundred ninety nine"]


def test_seq2seq_translates_held_out_numbers(tmp_path):
    results = run_example("17_seq2seq_numbers", tmp_path)
    assert results["held_out"] == 100
    # exact match on 100 numbers never seen in training, each direction
    assert results["digits_to_words_accuracy"] > 0.4
    assert results["words_to_digits_accuracy"] > 0.4
    assert (tmp_path / "seq2seq_numbers.png").is_file()


@needs_mnist
def test_image_to_name_spells_digits(tmp_path):
    results = run_example("18_image_to_name", tmp_path)
    assert results["test_images"] == 1000
    # writing the most frequent name every time would be right about 11% of the time
    assert results["exact_match"] > 0.3
    assert (tmp_path / "image_to_name.png").is_file()
