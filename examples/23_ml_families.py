"""
The families of machine learning
================================

Supervised learning (inputs with their labels) fills the examples before this one. Here are the
other families, each small and on a real task:

* **unsupervised**: k-means (Lloyd's algorithm, k-means++ seeding, the best of several starts)
  clusters MNIST digits in the space of their 32 principal components (PCA by
  ``gn.linalg.eigh`` of the covariance) without ever seeing a label; the clusters are then scored by their
  *purity* (each cluster counts as its most common digit; chance is about 0.11);
* **semi-supervised**: only 100 MNIST labels (10 per digit) plus many unlabelled digits. A
  small MLP on the 100 alone, against pseudo-labelling (Lee 2013): train, label the
  unlabelled digits the model is most confident about with its own predictions, retrain on
  both, repeat; test accuracy after each round;
* **reinforcement learning**: REINFORCE (Williams 1992), a policy network 4-32-2 that pushes a
  cart left or right to keep a pole up, trained from episode returns only (discounted returns
  to go, normalised, as the baseline). The CartPole dynamics are written out here (the
  equations of Barto, Sutton & Anderson 1983, integrated with Euler steps of 0.02 s exactly as
  gymnasium's ``cartpole.py`` does; episodes end when the pole passes 12 degrees, the cart
  leaves [-2.4, 2.4] or after 500 steps, reward 1 per step), vectorised over many carts. If
  the optional ``gymnasium`` package is installed, the trained policy is also run in
  gymnasium's ``CartPole-v1``;
* **evolution**: a genetic algorithm evolves the 58 weights of a 4-8-2 network for the same
  task without any gradient: a population of 50, fitness = mean return over 3 episodes, the 10
  fittest survive, children are mutated copies of them (Gaussian noise, standard deviation
  0.1) mixed by uniform crossover.

Full mode (10,000 digits clustered, 10,000 unlabelled digits, 2,000 test digits; 60 REINFORCE
updates of 16 episodes; 25 generations; ``nice -n 10`` on a 2-core machine shared with other
jobs, load average about 25: 30 min 31 s of wall time, 138 s of CPU time): k-means purity
0.574; 100 labels alone 63.9% test accuracy, after rounds 1-4 of pseudo-labelling 64.3%,
65.2%, 66.6%, 67.6%; REINFORCE's mean return rises from 22.7 at the first update to 494.7 over
the last five (limit 500); the genetic algorithm's best network goes from 57 in generation 1
to 500 (the limit) from generation 7 on, the population mean from 13.9 to 265.3.

Run: python examples/23_ml_families.py [--quick] [--out DIR] [--seed N]
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

import ganglion as gn
import ganglion.nn as nn
from ganglion.data import MNIST
from ganglion.viz import pyplot

FULL = dict(cluster_images=10000, unlabelled=10000, test_images=2000, classifier_steps=300,
            pseudo_rounds=4, rl_updates=60, max_steps=500, generations=25)
QUICK = dict(cluster_images=2000, unlabelled=2000, test_images=500, classifier_steps=150,
             pseudo_rounds=2, rl_updates=25, max_steps=200, generations=6)
CLUSTERS, PCA_SIZE = 10, 32


# --- Unsupervised: k-means on PCA codes ------------------------------------------------------

def pca_codes(x, fit_rows, k=PCA_SIZE):
    """Codes of every row of ``x`` on the top ``k`` principal directions of ``x[fit_rows]``:
    the eigenvectors of their covariance matrix with the largest eigenvalues."""
    mean = x[fit_rows].mean(0)
    centred = gn.tensor(x[fit_rows] - mean)
    _, directions = gn.linalg.eigh(centred.T @ centred / (len(fit_rows) - 1))
    return (x - mean) @ directions.numpy()[:, ::-1][:, :k]


def kmeans(points, k, rng, starts=5, iterations=50):
    """Lloyd's algorithm from k-means++ seeds; the start with the smallest within-cluster sum
    of squares wins. Distances for all points and centres at once with gn.cdist."""
    data = gn.tensor(points)
    best = (np.inf, None)
    for _ in range(starts):
        centres = [points[rng.integers(len(points))]]
        for _ in range(k - 1):  # k-means++: next centre drawn with probability ~ distance^2
            d2 = gn.cdist(data, gn.tensor(np.array(centres))).numpy().min(1) ** 2
            centres.append(points[rng.choice(len(points), p=d2 / d2.sum())])
        centres = np.array(centres)
        for _ in range(iterations):
            assignment = gn.cdist(data, gn.tensor(centres)).numpy().argmin(1)
            counts = np.bincount(assignment, minlength=k)[:, None]
            sums = np.zeros_like(centres)
            np.add.at(sums, assignment, points)
            moved = np.where(counts > 0, sums / np.maximum(counts, 1), centres)
            if np.allclose(moved, centres):
                break
            centres = moved
        inertia = float(np.sum((points - centres[assignment]) ** 2))
        if inertia < best[0]:
            best = (inertia, assignment)
    return best[1]


def purity(assignment, labels, k):
    """Fraction of points whose cluster's most common label is their own label."""
    table = np.zeros((k, 10), dtype=np.int64)
    np.add.at(table, (assignment, labels), 1)
    return float(table.max(1).sum() / len(labels)), table


# --- Semi-supervised: pseudo-labelling -------------------------------------------------------

def train_classifier(x, y, steps, seed):
    """An MLP (PCA code -> 64 ReLU -> 10) trained full-batch with Adam."""
    gn.manual_seed(seed)
    model = nn.Sequential(nn.Linear(x.shape[1], 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = gn.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    inputs, targets = gn.tensor(x), gn.tensor(y)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(inputs), targets).backward()
        optimizer.step()
    return model


def predict(model, x):
    with gn.no_grad():
        probabilities = gn.softmax(model(gn.tensor(x)), dim=1).numpy()
    return probabilities.max(1), probabilities.argmax(1)


def pseudo_labelling(x_labelled, y_labelled, x_unlabelled, x_test, y_test, rounds, steps,
                     seed):
    """Each round adds the most confident predictions on the unlabelled digits (a growing
    share, the same number per predicted class so that no class swamps the others) as labels,
    then retrains from scratch on the labelled and pseudo-labelled digits."""
    model = train_classifier(x_labelled, y_labelled, steps, seed)
    accuracies = [float(np.mean(predict(model, x_test)[1] == y_test))]
    per_class = len(x_unlabelled) // 10
    for round_ in range(1, rounds + 1):
        confidence, guess = predict(model, x_unlabelled)
        take = per_class * round_ // (rounds + 1)
        chosen = np.concatenate([np.flatnonzero(guess == c)[np.argsort(
            -confidence[guess == c])[:take]] for c in range(10)])
        model = train_classifier(np.concatenate([x_labelled, x_unlabelled[chosen]]),
                                 np.concatenate([y_labelled, guess[chosen]]), steps, seed)
        accuracies.append(float(np.mean(predict(model, x_test)[1] == y_test)))
    return accuracies


# --- Reinforcement learning and evolution on CartPole ---------------------------------------

class CartPoles:
    """``n`` independent carts with poles, stepped together with NumPy: the dynamics of Barto,
    Sutton & Anderson (1983) with gymnasium's constants and Euler integration (cartpole.py)."""
    GRAVITY, CART_MASS, POLE_MASS, HALF_LENGTH, FORCE, TAU = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    THETA_LIMIT, X_LIMIT = 12 * 2 * np.pi / 360, 2.4

    def __init__(self, n, rng):
        self.state = rng.uniform(-0.05, 0.05, size=(n, 4))
        self.alive = np.ones(n, dtype=bool)

    def step(self, action):
        """Push right (1) or left (0); returns the reward (1 for carts alive before the step)."""
        x, x_dot, theta, theta_dot = self.state.T
        force = np.where(action == 1, self.FORCE, -self.FORCE)
        total_mass = self.CART_MASS + self.POLE_MASS
        pole_moment = self.POLE_MASS * self.HALF_LENGTH
        cos, sin = np.cos(theta), np.sin(theta)
        temp = (force + pole_moment * theta_dot ** 2 * sin) / total_mass
        theta_acc = (self.GRAVITY * sin - cos * temp) / (
            self.HALF_LENGTH * (4.0 / 3.0 - self.POLE_MASS * cos ** 2 / total_mass))
        x_acc = temp - pole_moment * theta_acc * cos / total_mass
        new = np.stack([x + self.TAU * x_dot, x_dot + self.TAU * x_acc,
                        theta + self.TAU * theta_dot, theta_dot + self.TAU * theta_acc], 1)
        reward = self.alive.astype(np.float64)
        self.state = np.where(self.alive[:, None], new, self.state)
        fallen = (np.abs(self.state[:, 0]) > self.X_LIMIT) | (
            np.abs(self.state[:, 2]) > self.THETA_LIMIT)
        self.alive &= ~fallen
        return reward


def policy_network():
    return nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 2))


def reinforce(updates, episodes_per_update, max_steps, seed, gamma=0.99):
    """REINFORCE with a batch of episodes per update; returns the policy and the mean episode
    return of each update."""
    gn.manual_seed(seed)
    rng = np.random.default_rng(seed)
    policy = policy_network()
    optimizer = gn.optim.Adam(policy.parameters(), lr=1e-2)
    mean_returns = []
    for _ in range(updates):
        env = CartPoles(episodes_per_update, rng)
        states, actions, rewards = [], [], []
        for _ in range(max_steps):
            with gn.no_grad():
                probabilities = gn.softmax(policy(gn.tensor(env.state, dtype=gn.float32)),
                                           dim=1).numpy()
            action = (rng.random(len(probabilities)) < probabilities[:, 1]).astype(np.int64)
            states.append(env.state.copy())
            actions.append(action)
            rewards.append(env.step(action))
            if not env.alive.any():
                break
        rewards = np.array(rewards)                       # (T, episodes); 0 after the end
        alive = rewards > 0
        returns_to_go = np.zeros_like(rewards)
        running = np.zeros(rewards.shape[1])
        for t in range(len(rewards) - 1, -1, -1):
            running = rewards[t] + gamma * running
            returns_to_go[t] = running
        advantage = (returns_to_go - returns_to_go[alive].mean()) / (
            returns_to_go[alive].std() + 1e-8)
        logits = policy(gn.tensor(np.array(states)[alive], dtype=gn.float32))
        log_probabilities = gn.log_softmax(logits, dim=1)
        chosen = log_probabilities.gather(1, gn.tensor(np.array(actions)[alive])[:, None])[:, 0]
        loss = -(chosen * gn.tensor(advantage[alive], dtype=gn.float32)).sum() / rewards.shape[1]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        mean_returns.append(float(rewards.sum(0).mean()))
    return policy, mean_returns


def gymnasium_return(policy, episodes=5, seed=0):
    """Mean return of the greedy policy in gymnasium's CartPole-v1, or None without gymnasium."""
    try:
        import gymnasium
    except ImportError:
        return None
    env = gymnasium.make("CartPole-v1")
    total = 0.0
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        done = False
        while not done:
            with gn.no_grad():
                action = int(policy(gn.tensor(observation[None], dtype=gn.float32)).argmax())
            observation, reward, terminated, truncated, _ = env.step(action)
            total += reward
            done = terminated or truncated
    return total / episodes


HIDDEN_GA = 8
GENOME = 4 * HIDDEN_GA + HIDDEN_GA + HIDDEN_GA * 2 + 2


def fitness(population, rng, episodes, max_steps):
    """Mean return of each genome's 4-8-2 network (greedy action), all genomes and episodes run
    together: the weights of the whole population as batched matrices for gn.bmm."""
    p = len(population)
    w1 = gn.tensor(population[:, :32].reshape(p, 4, HIDDEN_GA))
    b1 = gn.tensor(population[:, 32:40].reshape(p, 1, HIDDEN_GA))
    w2 = gn.tensor(population[:, 40:56].reshape(p, HIDDEN_GA, 2))
    b2 = gn.tensor(population[:, 56:].reshape(p, 1, 2))
    env = CartPoles(p * episodes, rng)
    total = np.zeros(p * episodes)
    for _ in range(max_steps):
        state = gn.tensor(env.state.reshape(p, episodes, 4))
        with gn.no_grad():
            logits = gn.bmm(gn.tanh(gn.bmm(state, w1) + b1), w2) + b2
        total += env.step(logits.argmax(2).numpy().reshape(-1))
        if not env.alive.any():
            break
    return total.reshape(p, episodes).mean(1)


def evolve(generations, max_steps, seed, population_size=50, elites=10, sigma=0.1):
    rng = np.random.default_rng(seed)
    population = rng.normal(0, 0.5, size=(population_size, GENOME))
    best, mean = [], []
    for _ in range(generations):
        scores = fitness(population, rng, 3, max_steps)
        order = np.argsort(-scores)
        best.append(float(scores[order[0]]))
        mean.append(float(scores.mean()))
        parents = population[order[:elites]]
        mothers = parents[rng.integers(elites, size=population_size - elites)]
        fathers = parents[rng.integers(elites, size=population_size - elites)]
        mix = rng.random(mothers.shape) < 0.5                      # uniform crossover
        children = np.where(mix, mothers, fathers) + sigma * rng.standard_normal(mothers.shape)
        population = np.concatenate([parents, children])
    return best, mean


def plot_families(results, table, out_dir, plt):
    fig, axes = plt.subplots(2, 2, figsize=(14, 10), constrained_layout=True)
    ax = axes[0, 0]
    image = ax.imshow(table / table.sum(1, keepdims=True), cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(10))
    ax.set_yticks(range(CLUSTERS))
    ax.set_xlabel("true digit (never shown to k-means)")
    ax.set_ylabel("k-means cluster")
    ax.set_title(f"Unsupervised: k-means on PCA-{PCA_SIZE} codes, purity "
                 f"{results['kmeans_purity']:.3f}")
    fig.colorbar(image, ax=ax, label="fraction of the cluster's digits")
    ax = axes[0, 1]
    rounds = np.arange(len(results["pseudo_label_accuracies"]))
    ax.plot(rounds, 100 * np.array(results["pseudo_label_accuracies"]), "o-",
            label="pseudo-labelling (round 0: the 100 labels only)")
    ax.axhline(100 * results["supervised_only_accuracy"], color="gray", ls="--",
               label="supervised only, 100 labels")
    ax.set_xticks(rounds)
    ax.set_xlabel("pseudo-labelling round")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Semi-supervised: 100 labels + unlabelled MNIST digits")
    ax.legend()
    ax = axes[1, 0]
    returns = results["reinforce_returns"]
    ax.plot(np.arange(1, len(returns) + 1), returns, "o-", ms=3,
            label=f"mean over {results['episodes_per_update']} episodes")
    ax.axhline(results["max_steps"], color="gray", ls=":", label="maximum (episode limit)")
    ax.set_xlabel("policy update (REINFORCE)")
    ax.set_ylabel("episode return (steps the pole stays up)")
    ax.set_title("Reinforcement learning: policy gradient on CartPole")
    ax.legend()
    ax = axes[1, 1]
    generations = np.arange(1, len(results["ga_best"]) + 1)
    ax.plot(generations, results["ga_best"], "o-", label="best network")
    ax.plot(generations, results["ga_mean"], "s--", label="population mean")
    ax.axhline(results["max_steps"], color="gray", ls=":", label="maximum (episode limit)")
    ax.set_xlabel("generation")
    ax.set_ylabel("fitness: mean return over 3 episodes")
    ax.set_title("Neuro-evolution: a genetic algorithm on a 4-8-2 network's weights")
    ax.legend()
    fig.savefig(out_dir / "ml_families.png", dpi=100, bbox_inches="tight")
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description="unsupervised, semi-supervised, RL, evolution")
    parser.add_argument("--quick", action="store_true", help="small sizes (for the tests)")
    parser.add_argument("--out", type=Path, default=Path("runs/23_ml_families"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    settings = QUICK if args.quick else FULL
    plt = pyplot()
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    try:
        train_set, test_set = MNIST(train=True), MNIST(train=False)
    except FileNotFoundError as error:
        sys.exit(f"23_ml_families needs MNIST: set GANGLION_DATA to a folder holding mnist/ "
                 f"({error})")
    rows = rng.permutation(len(train_set))[:settings["cluster_images"]]
    x = train_set.data[rows].reshape(len(rows), -1).astype(np.float32) / 255.0
    codes = pca_codes(x, np.arange(len(x)))
    assignment = kmeans(codes, CLUSTERS, rng)
    cluster_purity, table = purity(assignment, train_set.targets[rows], CLUSTERS)
    print(f"k-means on {len(x):,} digits' PCA-{PCA_SIZE} codes: purity {cluster_purity:.3f} "
          f"(chance about 0.11)")

    # 10 labelled digits of each class; the unlabelled pool and the test digits share the PCA.
    labelled = np.concatenate([np.flatnonzero(train_set.targets == c)[:10] for c in range(10)])
    pool = np.setdiff1d(rng.permutation(len(train_set))[:settings["unlabelled"] + 100],
                        labelled)[:settings["unlabelled"]]
    test_rows = np.arange(settings["test_images"])
    all_x = np.concatenate([train_set.data[labelled], train_set.data[pool],
                            test_set.data[test_rows]]).reshape(-1, 784).astype(np.float32) / 255
    fit_rows = np.arange(len(labelled) + len(pool))         # PCA from training digits only
    all_codes = pca_codes(all_x, fit_rows).astype(np.float32)
    all_codes /= all_codes[fit_rows].std()
    x_lab, x_pool = all_codes[:len(labelled)], all_codes[len(labelled):len(fit_rows)]
    x_test, y_test = all_codes[len(fit_rows):], test_set.targets[test_rows]
    accuracies = pseudo_labelling(x_lab, train_set.targets[labelled], x_pool, x_test, y_test,
                                  settings["pseudo_rounds"], settings["classifier_steps"],
                                  args.seed)
    print(f"semi-supervised: supervised only on 100 labels {accuracies[0]:.4f}; with "
          f"pseudo-labels of {len(pool):,} unlabelled digits, rounds 1-{len(accuracies) - 1}: "
          + ", ".join(f"{a:.4f}" for a in accuracies[1:]))

    episodes_per_update = 16
    policy, returns = reinforce(settings["rl_updates"], episodes_per_update,
                                settings["max_steps"], args.seed)
    print(f"REINFORCE on CartPole: mean return {returns[0]:.1f} at the first update, "
          f"{np.mean(returns[-5:]):.1f} over the last five (limit {settings['max_steps']})")
    in_gymnasium = gymnasium_return(policy, seed=args.seed)
    if in_gymnasium is None:
        print("  gymnasium is not installed (optional extra): the CartPole above is this "
              "example's own implementation of its dynamics")
    else:
        print(f"  the trained policy in gymnasium's CartPole-v1 (greedy, 5 episodes): mean "
              f"return {in_gymnasium:.1f}")

    best, mean = evolve(settings["generations"], settings["max_steps"], args.seed)
    print(f"genetic algorithm: best fitness {best[0]:.1f} in generation 1, {best[-1]:.1f} in "
          f"generation {len(best)}; population mean {mean[0]:.1f} -> {mean[-1]:.1f}")
    seconds = time.perf_counter() - start
    results = {"kmeans_purity": cluster_purity, "supervised_only_accuracy": accuracies[0],
               "pseudo_label_accuracies": accuracies, "reinforce_returns": returns,
               "episodes_per_update": episodes_per_update, "max_steps": settings["max_steps"],
               "gymnasium_return": in_gymnasium, "ga_best": best, "ga_mean": mean,
               "seconds": seconds}
    plot_families(results, table, args.out, plt)
    print(f"figure: ml_families.png in {args.out} ({seconds:.0f} s)")
    return results


if __name__ == "__main__":
    main()
