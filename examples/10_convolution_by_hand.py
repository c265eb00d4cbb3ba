"""
Convolution by hand
===================

What a convolutional layer computes and what it costs, checked number by number against
``nn.Conv2d`` and the pooling layers:

* a 3x3 kernel slid over a 5x5 input by hand (each output the sum of a patch times the kernel,
  which is cross-correlation, what every deep-learning "convolution" computes) equals
  ``F.conv2d``;
* the output size ``floor((n - k + 2p) / s) + 1`` for a table of input sizes n, kernels k,
  paddings p and strides s (LeNet's, AlexNet's 227 -> 55, ResNet's stem 224 -> 112, odd cases
  where the division is not exact) equals the shape ``nn.Conv2d`` returns;
* the parameter count ``kh * kw * Cin * Cout (+ Cout biases)`` equals the layer's parameters;
* a fully connected layer from a 1000x1000 image to 10^6 units needs 10^12 weights (4 TB in
  float32), a 3x3 convolution producing the same 10^6 outputs needs 10 (9 weights, 1 bias):
  weight sharing and local connectivity;
* 2x2 max pooling of ``[[1, 3], [2, 0]]`` gives 3, average pooling 1.5;
* hand-set edge filters (Sobel for vertical and horizontal edges, a Laplacian) applied with
  ``nn.Conv2d`` to a real CIFAR-10 photograph; figure ``edge_filters.png`` shows the responses,
  and ``output_size.png`` how the output size falls with kernel size and stride.

Everything is computed exactly, so quick and full mode are the same (about 10 s on the 2-core
machine, most of it loading CIFAR-10's test set).

Run: python examples/10_convolution_by_hand.py [--quick] [--out DIR]
"""
import argparse
import sys
from pathlib import Path

import numpy as np

import ganglion as gn
import ganglion.nn as nn
import ganglion.nn.functional as F
from ganglion.data import CIFAR10
from ganglion.viz import pyplot

#: (input size n, kernel k, padding p, stride s) cases for the output-size formula.
SIZE_CASES = [(5, 3, 0, 1), (32, 3, 1, 1), (32, 5, 0, 1), (28, 5, 2, 1), (14, 5, 0, 1),
              (227, 11, 0, 4), (224, 7, 3, 2), (224, 3, 1, 2), (7, 3, 0, 2), (8, 3, 0, 2),
              (56, 1, 0, 1), (13, 3, 1, 1)]
#: (in channels, out channels, kernel, bias) layers for the parameter-count formula.
PARAMETER_CASES = [(1, 6, 5, True), (6, 16, 5, True), (3, 96, 11, True), (3, 64, 3, True),
                   (64, 128, 3, True), (256, 256, 3, False), (512, 512, 3, True)]
#: Hand-set 3x3 filters: Sobel responds to left-right changes (vertical edges), its transpose
#: to up-down changes (horizontal edges), the Laplacian to any change (edges and corners).
SOBEL_X = [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]
SOBEL_Y = [[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]
LAPLACIAN = [[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]


def output_size(n, k, p, s):
    """The convolution output-size formula, floor((n - k + 2p) / s) + 1."""
    return (n - k + 2 * p) // s + 1


def conv_by_hand(image, kernel):
    """A valid (unpadded, stride 1) cross-correlation written out: output[i, j] is the sum of
    the k x k patch at (i, j) times the kernel. Loops on purpose: this is the definition."""
    k = kernel.shape[0]
    rows, cols = image.shape[0] - k + 1, image.shape[1] - k + 1
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[i, j] = np.sum(image[i:i + k, j:j + k] * kernel)
    return out


def check_output_sizes():
    """For each case, the formula and the spatial size nn.Conv2d gives."""
    rows = []
    for n, k, p, s in SIZE_CASES:
        layer = nn.Conv2d(1, 1, k, stride=s, padding=p, bias=False)
        with gn.no_grad():
            conv_size = layer(gn.zeros(1, 1, n, n)).shape[-1]
        rows.append(dict(n=n, k=k, p=p, s=s, formula=output_size(n, k, p, s),
                         exact=(n - k + 2 * p) / s + 1, conv2d=conv_size))
    return rows


def check_parameter_counts():
    rows = []
    for c_in, c_out, k, bias in PARAMETER_CASES:
        layer = nn.Conv2d(c_in, c_out, k, bias=bias)
        formula = k * k * c_in * c_out + (c_out if bias else 0)
        rows.append(dict(c_in=c_in, c_out=c_out, k=k, bias=bias, formula=formula,
                         layer=sum(p.numel() for p in layer.parameters())))
    return rows


def weight_sharing(side):
    """Weights of a fully connected layer from a side x side image to side^2 units (formula;
    far too large to build) against a 3x3 convolution with padding 1 whose output is also
    side^2 units (built and run)."""
    fully_connected = (side * side) * (side * side)
    conv = nn.Conv2d(1, 1, 3, padding=1)
    with gn.no_grad():
        outputs = conv(gn.rand(1, 1, side, side)).numel()
    return dict(side=side, fc_weights=fully_connected, fc_bytes=4 * fully_connected,
                conv_parameters=sum(p.numel() for p in conv.parameters()),
                conv_outputs=outputs)


def pooling_example():
    x = gn.tensor([[[[1.0, 3.0], [2.0, 0.0]]]])
    return nn.MaxPool2d(2)(x).item(), nn.AvgPool2d(2)(x).item()


def load_photo(index):
    """Test image ``index`` of CIFAR-10 as uint8 (32, 32, 3) and its class name, or exit."""
    try:
        test_set = CIFAR10(train=False)
    except FileNotFoundError as error:
        sys.exit(f"10_convolution_by_hand needs CIFAR-10 for its edge filters: set GANGLION_DATA "
                 f"to a folder holding cifar10-jpg/ or cifar-10-batches-py/ ({error})")
    return test_set.data[index], test_set.classes[int(test_set.targets[index])]


def edge_filter_layer():
    """nn.Conv2d(1, 3, 3, padding=1) with the three hand-set filters as its weights. The border
    is padded by repeating the edge pixels: zero padding would make the frame itself an edge."""
    layer = nn.Conv2d(1, 3, 3, padding=1, bias=False, padding_mode="replicate")
    with gn.no_grad():
        layer.weight.copy_(gn.tensor([[SOBEL_X], [SOBEL_Y], [LAPLACIAN]]))
    return layer


def plot_edges(photo, gray, responses, name, out_dir, plt):
    magnitude = np.hypot(responses[0], responses[1])
    panels = [("vertical edges: Sobel x", responses[0], "RdBu_r"),
              ("horizontal edges: Sobel y", responses[1], "RdBu_r"),
              ("edge strength: length of (Gx, Gy)", magnitude, "magma"),
              ("Laplacian (any change)", responses[2], "RdBu_r")]
    kernels = [SOBEL_X, SOBEL_Y, None, LAPLACIAN]
    fig, axes = plt.subplots(2, 5, figsize=(18, 7.6), constrained_layout=True,
                             gridspec_kw=dict(height_ratios=[3, 1.3]))
    axes[0, 0].imshow(photo)
    axes[0, 0].set_title(f"CIFAR-10 test image: {name}\n(32x32 RGB)")
    axes[1, 0].imshow(gray, cmap="gray", vmin=0, vmax=1)
    axes[1, 0].set_title("grayscale input to the filters")
    for col, ((title, response, cmap), kernel) in enumerate(zip(panels, kernels), start=1):
        ax = axes[0, col]
        limit = float(np.abs(response).max())
        image = ax.imshow(response, cmap=cmap, vmin=0 if cmap == "magma" else -limit,
                          vmax=limit)
        ax.set_title(title)
        fig.colorbar(image, ax=ax, shrink=0.75, label="response (gray levels)")
        ax_k = axes[1, col]
        if kernel is None:
            ax_k.axis("off")
            ax_k.text(0.5, 0.5, "combines the two\nSobel responses", ha="center",
                      va="center", fontsize=11, transform=ax_k.transAxes)
            continue
        ax_k.imshow(kernel, cmap="RdBu_r", vmin=-4, vmax=4)
        for (i, j), value in np.ndenumerate(np.array(kernel)):
            ax_k.text(j, i, f"{value:g}", ha="center", va="center", fontsize=11)
        ax_k.set_title("the 3x3 kernel, set by hand")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[0]:
        ax.set_xlabel("x (pixels)")
        ax.set_ylabel("y (pixels)")
    fig.suptitle("Hand-set edge filters applied with nn.Conv2d(1, 3, 3, padding=1, "
                 "padding_mode='replicate') (red positive, blue negative)")
    fig.savefig(out_dir / "edge_filters.png", dpi=100, bbox_inches="tight")
    return fig


def plot_output_sizes(plt, out_dir, n=32):
    fig, ax = plt.subplots(figsize=(7.5, 4.5), constrained_layout=True)
    kernels = np.arange(1, 12, 2)
    for s in (1, 2, 4):
        ax.plot(kernels, [output_size(n, k, 0, s) for k in kernels], "o-", label=f"stride {s}, "
                "no padding")
    ax.plot(kernels, [output_size(n, k, k // 2, 1) for k in kernels], "s--",
            label="stride 1, 'same' padding k // 2")
    ax.set_xlabel("kernel size k (pixels)")
    ax.set_ylabel(f"output size for a {n}x{n} input (pixels)")
    ax.set_title("Output size floor((n - k + 2p) / s) + 1")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.savefig(out_dir / "output_size.png", dpi=100, bbox_inches="tight")
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description="Convolution arithmetic checked against nn.Conv2d")
    parser.add_argument("--quick", action="store_true",
                        help="accepted for the test suite; this example is always quick")
    parser.add_argument("--out", type=Path, default=Path("runs/10_convolution_by_hand"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image", type=int, default=1001,
                        help="index of the CIFAR-10 test image for the edge filters")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    plt = pyplot()
    gn.manual_seed(args.seed)
    photo, photo_class = load_photo(args.image)
    results = {}

    image = np.arange(25, dtype=np.float64).reshape(5, 5) % 7
    kernel = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    by_hand = conv_by_hand(image, kernel)
    library = F.conv2d(gn.tensor(image[None, None]), gn.tensor(kernel[None, None])).numpy()[0, 0]
    print("a 3x3 kernel slid over a 5x5 input by hand (sum of patch * kernel):")
    print(by_hand)
    print(f"F.conv2d gives the same 3x3 output: max difference "
          f"{np.abs(by_hand - library).max():.1e}")
    results["hand_vs_conv2d_difference"] = float(np.abs(by_hand - library).max())
    results["hand_output"] = by_hand.tolist()

    print("\noutput size floor((n - k + 2p) / s) + 1 against nn.Conv2d:")
    print("    n   k  p  s | (n-k+2p)/s+1 | formula | nn.Conv2d")
    sizes = check_output_sizes()
    for row in sizes:
        print(f"  {row['n']:3d} {row['k']:3d} {row['p']:2d} {row['s']:2d} | {row['exact']:12.2f} | "
              f"{row['formula']:7d} | {row['conv2d']:9d}")
    results["output_sizes"] = sizes

    print("\nparameters kh * kw * Cin * Cout (+ Cout) against the layer's parameters:")
    counts = check_parameter_counts()
    for row in counts:
        print(f"  Conv2d({row['c_in']}, {row['c_out']}, {row['k']}, bias={row['bias']}): "
              f"formula {row['formula']:,}, layer {row['layer']:,}")
    results["parameter_counts"] = counts

    sharing = weight_sharing(1000)
    print(f"\na fully connected layer from a 1000x1000 image to 10^6 units: "
          f"{sharing['fc_weights']:.0e} weights ({sharing['fc_bytes'] / 1e12:.0f} TB in float32); "
          f"a 3x3 convolution with padding 1 gives {sharing['conv_outputs']:,} outputs from the "
          f"same image with {sharing['conv_parameters']} parameters")
    results["weight_sharing"] = sharing

    max_pooled, average_pooled = pooling_example()
    print(f"\n2x2 pooling of [[1, 3], [2, 0]]: max {max_pooled:g}, average {average_pooled:g}")
    results["max_pool"], results["avg_pool"] = max_pooled, average_pooled

    gray = photo.astype(np.float32).mean(axis=2) / 255.0
    with gn.no_grad():
        responses = edge_filter_layer()(gn.tensor(gray[None, None])).numpy()[0]
    # Check one response by hand: the Sobel-x sum at the centre pixel's 3x3 neighbourhood.
    centre = np.sum(gray[15:18, 15:18] * np.array(SOBEL_X))
    print(f"\nedge filters on CIFAR-10 test image {args.image} ({photo_class}): Sobel x at pixel "
          f"(16, 16) is {responses[0, 16, 16]:.4f}, by hand {centre:.4f}; mean |response| "
          f"Sobel x {np.abs(responses[0]).mean():.3f}, Sobel y {np.abs(responses[1]).mean():.3f}, "
          f"Laplacian {np.abs(responses[2]).mean():.3f}")
    results["edge_pixel"] = (float(responses[0, 16, 16]), float(centre))
    results["edge_responses"] = responses
    results["gray_image"] = gray
    results["photo_class"] = photo_class

    plot_edges(photo, gray, responses, photo_class, args.out, plt)
    plot_output_sizes(plt, args.out)
    print(f"figures: {args.out / 'edge_filters.png'}, {args.out / 'output_size.png'}")
    return results


if __name__ == "__main__":
    main()
