"""Comparing model variants over several seeds: mean ± standard deviation
per variant, and paired differences against a baseline with a cautious
verdict (a difference is called only when its mean exceeds two standard
errors).

A run's curves are `{variant: [per-seed list of per-epoch values]}`, the
seeds in the same order for every variant (paired: seed `i` of each variant
shares its data split and initial weights).
"""

import numpy as np


def seed_statistics(values):
    """`{"mean", "std" (sample, 0 for one value), "per_seed"}` of `values`."""
    values = np.asarray(values, dtype="float64")
    return {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            "per_seed": values.tolist()}


def paired_difference(values, baseline):
    """Per-seed `values - baseline`: its statistics, wins/ties/losses and a
    verdict ("helps"/"hurts" when |mean| > 2 standard errors over at least
    two seeds, else "no clear difference")."""
    diff = np.asarray(values, dtype="float64") - np.asarray(baseline, dtype="float64")
    n = len(diff)
    sem = diff.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
    clear = n > 1 and ((sem > 0 and abs(diff.mean()) > 2 * sem) or (sem == 0 and diff.mean() != 0))
    verdict = (("helps" if diff.mean() > 0 else "hurts") + f" (|mean| > 2 standard errors over {n} seeds)"
               if clear else f"no clear difference over {n} seed(s) (|mean| <= 2 standard errors, or one seed)")
    return {**seed_statistics(diff), "wins": int((diff > 0).sum()), "ties": int((diff == 0).sum()),
            "losses": int((diff < 0).sum()), "verdict": verdict}


def summarize_variants(curves, baseline="random"):
    """`{"variants": ..., "comparisons": ...}`: per variant the mean curve and
    the statistics of its final and best values; per other variant its
    final values' `paired_difference` against `baseline` (when present)."""
    variants = {
        variant: {
            "val_accuracy_per_epoch_mean": np.mean(runs, axis=0).tolist(),
            "final_val_accuracy": seed_statistics([r[-1] for r in runs]),
            "best_val_accuracy": seed_statistics([max(r) for r in runs]),
        }
        for variant, runs in curves.items()
    }
    comparisons = {}
    if baseline in curves:
        for variant, runs in curves.items():
            if variant != baseline:
                comparisons[f"{variant}_minus_{baseline}"] = paired_difference(
                    [r[-1] for r in runs], [r[-1] for r in curves[baseline]])
    return {"variants": variants, "comparisons": comparisons}


def format_summary(summary):
    """The lines of a `summarize_variants` result, for printing."""
    lines = ["Final validation accuracy (mean ± std over seeds):"]
    for variant, v in summary["variants"].items():
        f = v["final_val_accuracy"]
        lines.append(f"  {variant:<10} {f['mean']:.3f} ± {f['std']:.3f}   "
                     f"per seed {[round(x, 3) for x in f['per_seed']]}")
    for name, c in summary["comparisons"].items():
        lines.append(f"  {name}: {c['mean']:+.3f} ± {c['std']:.3f} (wins {c['wins']}, losses {c['losses']}): "
                     f"{c['verdict']}")
    return lines
