"""Logistic regression as the verdict's fits use it: Newton's method with an L2 penalty, balanced classes,
stratified cross-validation and Platt recalibration. numpy only (qa/answer/fit.py, fit_gate.py, qa/search/fit.py)."""

from __future__ import annotations

import numpy as np

L2 = 1.0    # penalty on the standardised weights
FOLDS = 5


def fit_logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float = L2) -> tuple[np.ndarray, float]:
    """Weights and bias of a logistic regression by Newton's method (bias not penalised)."""
    n, d = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    beta = np.zeros(d + 1)
    penalty = np.diag([l2] * d + [0.0])
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(design @ beta, -50, 50)))
        gradient = design.T @ (weight * (p - y)) + penalty @ beta
        hessian = design.T @ (design * (weight * p * (1 - p))[:, None]) + penalty + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    return beta[:d], float(beta[d])


def balanced(y: np.ndarray) -> np.ndarray:
    """Sample weights that give both classes the same total weight."""
    positives = max(y.sum(), 1)
    negatives = max(len(y) - y.sum(), 1)
    return np.where(y == 1, len(y) / (2 * positives), len(y) / (2 * negatives))


def cross_validated(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each row's log-odds from a model fitted without its fold (folds stratified, fixed seed)."""
    rng = np.random.default_rng(0)
    fold = np.empty(len(y), dtype=int)
    for label in (0, 1):
        rows = rng.permutation(np.flatnonzero(y == label))
        fold[rows] = np.arange(len(rows)) % FOLDS
    log_odds = np.empty(len(y))
    for f in range(FOLDS):
        train, test = fold != f, fold == f
        mean, scale = x[train].mean(0), x[train].std(0) + 1e-6
        w, b = fit_logistic((x[train] - mean) / scale, y[train], balanced(y[train]))
        log_odds[test] = ((x[test] - mean) / scale) @ w + b
    return log_odds


def sigmoid(z: np.ndarray | float) -> np.ndarray:
    """The logistic function, clipped so it never overflows."""
    return np.asarray(1 / (1 + np.exp(-np.clip(z, -50, 50))))


def platt(log_odds: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and intercept that turn a model's log-odds into calibrated ones: a logistic fit of the labels
    on them, unweighted and unpenalised (Platt scaling). The slope must be positive, so that the order of
    the questions, and with it every decision, stays the same."""
    slope, b = fit_logistic(log_odds[:, None], y, np.ones(len(y)), 0.0)
    a = float(slope[0])
    if a <= 0:
        raise ValueError(f"recalibration would reverse the model's order (slope {a:.3f}); refusing to write")
    return float(a), b
