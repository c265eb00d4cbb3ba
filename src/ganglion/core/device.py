"""Devices. Only the CPU exists so far; a CuPy backend will add 'cuda'."""

__all__ = ["device", "cpu"]


class device:
    """A device name, as ``ganglion.device('cpu')``; compares equal to its name."""

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu"):
        if isinstance(spec, device):
            spec = str(spec)
        kind, _, index = str(spec).partition(":")
        if kind != "cpu":
            raise ValueError(f"device {spec!r} is not available: this build of ganglion runs on 'cpu' only")
        self.type = kind
        self.index = int(index) if index else None

    def __eq__(self, other):
        return str(self) == str(other)

    def __hash__(self):
        return hash(str(self))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}')"


cpu = device("cpu")
