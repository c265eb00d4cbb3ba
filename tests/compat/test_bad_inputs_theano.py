"""Bad inputs to the Theano compatibility layer: the same clear errors as the ops beneath it."""
import ganglion as gn
from bad_inputs import BadInput, bad_input_test
from ganglion.compat.theano.tensor import nnet

PROBS = gn.tensor([[0.2, 0.8], [0.6, 0.4]])

CASES = [
    # Theano refuses a label outside [0, classes); -1 must not read the last class.
    BadInput("categorical_crossentropy negative label",
             lambda: nnet.categorical_crossentropy(PROBS, gn.tensor([1, -1])), IndexError,
             ["index -1", "out of range", "[0, 2)"]),
    BadInput("categorical_crossentropy label past the classes",
             lambda: nnet.categorical_crossentropy(PROBS, gn.tensor([2, 0])), IndexError,
             ["index 2", "[0, 2)"]),
]
test_bad_input = bad_input_test(CASES)


def test_categorical_crossentropy_in_range_labels():
    values = nnet.categorical_crossentropy(PROBS, gn.tensor([1, 0])).numpy()
    assert abs(values[0] - 0.22314355) < 1e-6 and abs(values[1] - 0.51082562) < 1e-6
