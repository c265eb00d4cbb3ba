"""A tiny seeded classification problem and model shared by the training tests."""
import ganglion as gn
from ganglion import nn
from ganglion.data import DataLoader, TensorDataset


def dataset(n=192, seed=0):
    gn.manual_seed(seed)
    x = gn.randn(n, 10)
    y = (x @ gn.randn(10, 3)).argmax(1)
    return TensorDataset(x, y)


def model(seed=1, dropout=0.2):
    gn.manual_seed(seed)
    return nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(dropout), nn.Linear(32, 3))


def setup(lr=0.05, seed=1, shuffle_seed=0):
    """(model, optimizer, train loader, val loader), all seeded."""
    net = model(seed)
    optimizer = gn.optim.Adam(net.parameters(), lr=lr)
    data = dataset()
    train = DataLoader(data, 32, shuffle=True, seed=shuffle_seed)
    return net, optimizer, train, DataLoader(data, 64)


def weights(net):
    return {k: v.numpy().copy() for k, v in net.state_dict().items()}
