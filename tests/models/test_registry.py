"""The model registry: the zoo's networks by name, with the layer sizes the literature gives."""
import pytest

import ganglion as gn
from ganglion.models import get_model, list_models, model_info, register_model


def _count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name, params", [("mlp", 266_610), ("lenet5", 61_706),
                                          ("cifar_cnn", 620_362), ("digits_cnn", 38_282)])
def test_each_model_maps_a_batch_of_its_inputs_to_ten_logits(name, params):
    model = get_model(name)
    assert _count(model) == params
    with gn.no_grad():
        out = model(gn.randn(2, *model_info(name).input_shape))
    assert out.shape == (2, 10)


def test_models_take_options():
    assert get_model("mlp", hidden=(32,), num_classes=3)(gn.randn(2, 784)).shape == (2, 3)
    assert get_model("lenet5", num_classes=5)(gn.randn(1, 1, 28, 28)).shape == (1, 5)


def test_registry_lists_names_and_refuses_unknown_or_duplicate_ones():
    assert {"mlp", "lenet5", "cifar_cnn", "digits_cnn"} <= set(list_models())
    with pytest.raises(ValueError, match="unknown model 'lenet'; known models: .*lenet5"):
        get_model("lenet")
    with pytest.raises(ValueError, match="already registered"):
        register_model("mlp", input_shape=(1,))(lambda: None)
