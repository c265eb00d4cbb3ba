"""The ``ganglion`` command (also ``python -m ganglion``): train, eval, summary, compare, demo.

    ganglion train lenet5 --dataset mnist --epochs 5 --out runs/lenet
    ganglion eval runs/lenet/model.safetensors --dataset mnist
    ganglion summary lenet5
    ganglion summary resnet18 --input 3,64,64
    ganglion compare lenet5 alexnet vgg16 resnet18 --time --figure models.png
    ganglion demo [--quick]

A mistake on the command line (unknown model or dataset, missing data folder, bad option) or
a problem with the data or a checkpoint is reported as one line on stderr with exit code 2,
never as a traceback.
"""
import argparse
import contextlib
import sys
import time
from pathlib import Path

__all__ = ["main", "build_parser"]

EXIT_USAGE = 2


class UsageError(Exception):
    """A problem the user can fix on the command line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser():
    from ganglion.models import list_models
    from ganglion.train.datasets import DATASETS
    parser = _Parser(prog="ganglion", description="Train, evaluate and inspect ganglion models.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train a model from the registry on a dataset")
    train.add_argument("model", help=f"one of: {', '.join(list_models())}")
    train.add_argument("--dataset", required=True, help=f"one of: {', '.join(sorted(DATASETS))}")
    train.add_argument("--data-dir", help="the data folder (default: $GANGLION_DATA, else "
                                          "~/.cache/ganglion/datasets)")
    train.add_argument("--epochs", type=int, default=5)
    train.add_argument("--batch-size", type=int, default=128)
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    train.add_argument("--weight-decay", type=float, default=0.0,
                       help="L2 penalty added to the gradients (e.g. 5e-4 for a CIFAR ResNet)")
    train.add_argument("--norm-weight-decay", type=float, metavar="DECAY",
                       help="the L2 penalty of normalization layers' weights and biases "
                            "(default: --weight-decay; 0 leaves them free, as torchvision's "
                            "reference recipes do)")
    train.add_argument("--label-smoothing", type=float, default=0.0, metavar="EPSILON",
                       help="cross-entropy against targets smoothed by EPSILON (e.g. 0.1)")
    train.add_argument("--device", default="cpu", help="cpu (the only device of this build)")
    train.add_argument("--compile", action="store_true", help="run each step as a compiled "
                                                              "function")
    train.add_argument("--augment", action="store_true", help="random crops and flips (cifar10)")
    train.add_argument("--auto-augment", metavar="POLICY",
                       help="an augmentation policy for each training image: imagenet, cifar10 "
                            "or svhn (AutoAugment), ra (RandAugment), ta_wide "
                            "(TrivialAugmentWide); mnist, cifar10")
    train.add_argument("--mixup-alpha", type=float, default=0.0, metavar="ALPHA",
                       help="MixUp each training batch, lam ~ Beta(ALPHA, ALPHA) (mnist, "
                            "cifar10; with --cutmix-alpha, one of the two per batch)")
    train.add_argument("--cutmix-alpha", type=float, default=0.0, metavar="ALPHA",
                       help="CutMix each training batch, lam ~ Beta(ALPHA, ALPHA)")
    train.add_argument("--random-erase", type=float, default=0.0, metavar="P",
                       help="erase a random box of each training image with probability P "
                            "(Random Erasing; mnist, cifar10)")
    train.add_argument("--out", help="run folder (default: runs/MODEL-DATASET)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--init", metavar="CHECKPOINT",
                       help="start from the weights in this checkpoint (a model.safetensors that "
                            "ganglion train wrote), e.g. for a second schedule (warm restart) or "
                            "fine-tuning")
    train.add_argument("--resume", action="store_true",
                       help="continue from OUT/last.safetensors, the state saved after the "
                            "last finished epoch (same options as the first run)")
    train.add_argument("--quiet", action="store_true", help="no progress bars or epoch lines")

    evaluate = commands.add_parser("eval", help="test accuracy of a saved model")
    evaluate.add_argument("checkpoint")
    evaluate.add_argument("--dataset", required=True, help=f"one of: {', '.join(sorted(DATASETS))}")
    evaluate.add_argument("--data-dir")
    evaluate.add_argument("--model", help="the model's name, if the checkpoint does not say")

    summary = commands.add_parser("summary", help="print a model's layers and parameter counts")
    summary.add_argument("model", help=f"one of: {', '.join(list_models())}")
    summary.add_argument("--input", type=_shape, metavar="C,H,W",
                         help="one example's shape (default: the model's registered input)")

    compare = commands.add_parser("compare", help="parameters, MACs and depth of several models "
                                                  "in one table (and a figure)")
    compare.add_argument("models", nargs="+", metavar="model",
                         help=f"one or more of: {', '.join(list_models())}")
    compare.add_argument("--input", type=_shape, metavar="C,H,W",
                         help="one example's shape for every model (default: each model's "
                              "registered input, 3,224,224 for the ImageNet ones)")
    compare.add_argument("--time", action="store_true",
                         help="measure the forward time per image (eval mode, batch 1)")
    compare.add_argument("--figure", metavar="PNG",
                         help="also draw parameters against MACs into this file (needs "
                              "matplotlib: pip install ganglion[viz])")

    demo = commands.add_parser("demo", help="train LeNet-5 on MNIST (or a CNN on the digits)")
    demo.add_argument("--quick", action="store_true", help="a short run on the 8x8 digits")
    demo.add_argument("--data-dir")
    demo.add_argument("--out", default="runs/demo")
    return parser


def _shape(text):
    """'3,224,224' -> (3, 224, 224)."""
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if not shape or any(d <= 0 for d in shape):
        raise argparse.ArgumentTypeError(f"invalid shape {text!r}: expected positive integers "
                                         f"separated by commas, e.g. 3,224,224")
    return shape


def _check_data_dir(data_dir):
    if data_dir is not None and not Path(data_dir).is_dir():
        raise UsageError(f"--data-dir {data_dir}: no such folder")
    return data_dir


def _check_choice(value, known, what):
    if value not in known:
        from ganglion.models.registry import did_you_mean
        raise UsageError(f"unknown {what} {value!r}; known: {', '.join(sorted(known))}"
                         f"{did_you_mean(value, known)}")


def _train(args):
    import ganglion as gn
    from ganglion import nn
    from ganglion.io import save
    from ganglion.models import get_model, list_models
    from ganglion.train import CSVLogger, ModelCheckpoint, fit
    from ganglion.train.datasets import AUTO_AUGMENT, DATASETS, classification_loaders

    _check_choice(args.model, list_models(), "model")
    _check_choice(args.dataset, DATASETS, "dataset")
    if args.device != "cpu":
        raise UsageError(f"--device {args.device}: this build runs on cpu only")
    for option in ("epochs", "batch_size"):
        if getattr(args, option) < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be at least 1")
    if not args.lr > 0:
        raise UsageError("--lr must be positive")
    for option in ("weight_decay", "norm_weight_decay"):
        value = getattr(args, option)
        if value is not None and not value >= 0:
            raise UsageError(f"--{option.replace('_', '-')} must be zero or positive")
    if not 0 <= args.label_smoothing < 1:
        raise UsageError(f"--label-smoothing must be in [0, 1), got {args.label_smoothing}")
    if not 0 <= args.random_erase <= 1:
        raise UsageError(f"--random-erase must be a probability in [0, 1], got "
                         f"{args.random_erase}")
    for option in ("mixup_alpha", "cutmix_alpha"):
        if getattr(args, option) < 0:
            raise UsageError(f"--{option.replace('_', '-')} must be zero (off) or positive")
    if args.auto_augment is not None and args.auto_augment not in AUTO_AUGMENT:
        raise UsageError(f"--auto-augment {args.auto_augment}: unknown policy; known: "
                         f"{', '.join(AUTO_AUGMENT)}")
    for option in ("random_erase", "auto_augment", "mixup_alpha", "cutmix_alpha"):
        # These act on image batches, which the 8x8 digits (plain arrays) are not made into.
        if getattr(args, option) and args.dataset == "digits":
            raise UsageError(f"--{option.replace('_', '-')} works on mnist and cifar10, not "
                             f"digits")
    data_dir = _check_data_dir(args.data_dir)
    out = Path(args.out or f"runs/{args.model}-{args.dataset}")
    resume = out / "last.safetensors" if args.resume else None
    if resume is not None and not resume.is_file():
        raise UsageError(f"--resume: {resume} does not exist (no finished epoch to continue)")

    rank = _join_process_group()
    gn.manual_seed(args.seed)
    train_loader, test_loader, _ = classification_loaders(args.dataset, data_dir, args.batch_size,
                                                          seed=args.seed, augment=args.augment,
                                                          random_erase=args.random_erase,
                                                          auto_augment=args.auto_augment,
                                                          mixup_alpha=args.mixup_alpha,
                                                          cutmix_alpha=args.cutmix_alpha)
    model = get_model(args.model)
    if args.init is not None:
        if resume is not None:
            raise UsageError("--init and --resume: choose one (--resume restores the weights too)")
        if not Path(args.init).is_file():
            raise UsageError(f"--init {args.init}: no such checkpoint file")
        _load_weights(model, _read_checkpoint(args.init)[1], f"--init {args.init}")
    parameters = _parameter_groups(model, args.weight_decay, args.norm_weight_decay)
    if args.optimizer == "adam":
        optimizer = gn.optim.Adam(parameters, lr=args.lr)
    else:
        optimizer = gn.optim.SGD(parameters, lr=args.lr, momentum=0.9, nesterov=True)
    scheduler = gn.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.epochs)
    start = time.perf_counter()
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    history = fit(model, train_loader, loss_fn, optimizer, args.epochs,
                  val_loader=test_loader, metrics=["accuracy"], scheduler=scheduler,
                  compile=args.compile, verbose=0 if args.quiet else 1, resume=resume,
                  callbacks=[ModelCheckpoint(out, monitor="val_accuracy"),
                             CSVLogger(out / "metrics.csv", append=resume is not None)])
    seconds = time.perf_counter() - start
    if rank != 0:  # under mpiexec, rank 0 writes the model and reports
        return
    accuracy = history["val_accuracy"][-1]  # the final model on the whole test set
    checkpoint = save({"model_name": args.model, "dataset": args.dataset,
                       "model": model.state_dict()}, out / "model.safetensors")
    print(f"checkpoint: {checkpoint}  (resumable states: {out / 'last.safetensors'}, "
          f"{out / 'best.safetensors'})")
    print(f"metrics: {out / 'metrics.csv'}")
    print(f"trained in {seconds:.1f} s")
    print(f"test accuracy: {100 * accuracy:.2f}%")


def _parameter_groups(model, weight_decay, norm_weight_decay=None):
    """The optimizer's parameter groups: one with ``weight_decay``, and, when
    ``norm_weight_decay`` is given, one for the weights and biases of the normalization layers
    (batch, instance, layer and group norm) with that decay instead."""
    from ganglion.nn.layers.normalization import GroupNorm, LayerNorm, _BatchNorm
    if norm_weight_decay is None:
        return [{"params": list(model.parameters()), "weight_decay": weight_decay}]
    norm_layers = (_BatchNorm, LayerNorm, GroupNorm)  # _BatchNorm: instance norms too
    in_norm_layers = {id(p) for m in model.modules() if isinstance(m, norm_layers)
                      for p in m.parameters(recurse=False)}
    groups = [{"params": [p for p in model.parameters() if id(p) not in in_norm_layers],
               "weight_decay": weight_decay},
              {"params": [p for p in model.parameters() if id(p) in in_norm_layers],
               "weight_decay": norm_weight_decay}]
    return [group for group in groups if group["params"]]


def _read_checkpoint(checkpoint):
    """(the whole saved object, its model weights): ``{"model": state dict, ...}`` as
    ``ganglion train`` writes it, or a bare state dict."""
    from ganglion.io import load
    state = load(checkpoint)
    return state, (state.get("model", state) if isinstance(state, dict) else state)


def _load_weights(model, weights, where):
    """model.load_state_dict(weights); a mismatch is one UsageError line starting ``where``."""
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        raise UsageError(f"{where}: {error}") from None


def _join_process_group():
    """Under mpiexec or srun, join the other ranks (fit then trains data-parallel); returns
    this process's rank (0 without a launcher)."""
    from ganglion import distributed
    if not distributed.launched_by_mpi():
        return 0
    if not distributed.is_initialized():
        distributed.init_process_group()
    return distributed.get_rank()


def _eval(args):
    import ganglion as gn
    from ganglion.models import get_model, list_models
    from ganglion.train import evaluate
    from ganglion.train.datasets import DATASETS, classification_loaders

    _check_choice(args.dataset, DATASETS, "dataset")
    data_dir = _check_data_dir(args.data_dir)
    state, weights = _read_checkpoint(args.checkpoint)
    name = args.model or (state.get("model_name") if isinstance(state, dict) else None)
    if name is None:
        raise UsageError(f"{args.checkpoint} does not name its model: pass --model")
    _check_choice(name, list_models(), "model")
    model = get_model(name)
    _load_weights(model, weights, args.checkpoint)
    _, test_loader, _ = classification_loaders(args.dataset, data_dir)
    accuracy = evaluate(model, test_loader, metrics={"accuracy": gn.metrics.accuracy})["accuracy"]
    print(f"test accuracy: {100 * accuracy:.2f}%")


def _summary(args):
    from ganglion.models import get_model, list_models, model_info
    from ganglion.nn import summary
    _check_choice(args.model, list_models(), "model")
    shape = args.input or model_info(args.model).input_shape
    try:
        summary(get_model(args.model), shape)
    except ValueError as error:
        raise ValueError(f"model {args.model!r} cannot take an input of shape {shape} (its "
                         f"registered input shape is {model_info(args.model).input_shape}): "
                         f"{error}") from error


def _compare(args):
    from ganglion.models import compare, compare_figure, compare_table, list_models
    for name in args.models:
        _check_choice(name, list_models(), "model")
    rows = compare(args.models, input_shape=args.input, time=args.time)
    print(compare_table(rows))
    if args.figure:
        compare_figure(rows, args.figure)
        print(f"figure: {args.figure}")


def _demo(args):
    from ganglion import demo
    argv = (["--quick"] if args.quick else []) + ["--out", args.out]
    if args.data_dir:
        argv += ["--data-dir", _check_data_dir(args.data_dir)]
    demo.main(argv)


_COMMANDS = {"train": _train, "eval": _eval, "summary": _summary, "compare": _compare,
             "demo": _demo}


@contextlib.contextmanager
def single_threaded_blas():
    """One BLAS thread while a command runs. The convolution kernels already spread a batch
    over the cores with their own threads; OpenBLAS threads on top of them oversubscribe the
    cores, which made LeNet-5 steps 3.5x slower on a busy 2-core machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # shipped with scikit-learn (the data extra); without it, no limit
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _one_line(error):
    return " ".join(str(error).split())


def main(argv=None):
    """Run the command in ``argv`` (default: sys.argv[1:]); returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        with single_threaded_blas():
            _COMMANDS[args.command](args)
    except UsageError as error:
        print(f"ganglion: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, OSError, ImportError, RuntimeError) as error:
        # Data and checkpoint problems (missing or corrupt files, shape mismatches) carry
        # messages that name the file; a traceback would add nothing for the user.
        print(f"ganglion: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ganglion: interrupted", file=sys.stderr)
        return 130
    return 0
