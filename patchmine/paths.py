"""Where every product lives under the results folder, in one place.

The rules write these files and the package asks for them (`rule all`'s targets, the runs a table
waits for, a named target's files), so both spell them through :class:`ResultPaths`: a renamed
product cannot leave a target that no rule makes. Every argument may be a wildcard in braces
(``"{experiment}"``), which gives the rule's pattern.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResultPaths:
    """The layout of one results folder (config ``results``)."""

    root: str

    # --- data, patches, scores, subsets ------------------------------------------------------
    def manifest(self, dataset: str) -> str:
        """An ingested test or validation set's list of images (rule ``ingest``)."""
        return f"{self.root}/data/{dataset}/manifest.csv"

    def skipped(self, dataset: str) -> str:
        """The images ``ingest`` left out of a set, with the reason."""
        return f"{self.root}/data/{dataset}/skipped.csv"

    def store(self, dataset, patch, stride) -> str:
        """A training set's HDF5 patch store, by patch size and stride."""
        return f"{self.root}/patches/{dataset}/p{patch}_s{stride}.h5"

    def store_summary(self, dataset, patch, stride) -> str:
        """What each image of a store gave (size, patches kept, skipped and why)."""
        return self.store(dataset, patch, stride).removesuffix(".h5") + "_images.csv"

    def scores(self, dataset, patch, stride, name: str) -> str:
        """One criterion's score per patch of a store (``loss_<task>`` for the loss)."""
        return f"{self.root}/scores/{dataset}/p{patch}_s{stride}/{name}.npy"

    def subset(self, task, dataset, patch, stride, criterion, k) -> str:
        """The indices of a store's top-K patches by a criterion, for a task."""
        return f"{self.root}/subsets/{task}/{dataset}/p{patch}_s{stride}/{criterion}/k{k}.npy"

    def mined(self, dataset, patch, stride, criterion, keep) -> str:
        """The folder of the patches the one-line ``mine`` kept."""
        return f"{self.root}/mined/{dataset}/p{patch}_s{stride}/{criterion}/k{keep}"

    # --- networks and their scores -----------------------------------------------------------
    def run_file(self, run: str, name: str) -> str:
        """A file of one training run (``run``: its folder path, :attr:`grid.Run.path`)."""
        return f"{self.root}/runs/{run}/{name}"

    def state(self, run: str) -> str:
        """A run's resume state, outside its outputs: Snakemake deletes outputs before a rerun."""
        return f"{self.root}/state/{run}"

    def run_eval(self, run: str, test: str) -> str:
        """A run's per-image scores on a test set."""
        return self.run_file(run, f"eval/{test}.csv")

    def published_eval(self, name: str, test: str) -> str:
        """A published model's per-image scores on a test set."""
        return f"{self.root}/published/{name}/eval/{test}.csv"

    def reference(self, task: str, test: str) -> str:
        """What a task's networks are read against (bicubic, the noisy input) on a test set."""
        return f"{self.root}/references/{task}/{test}.csv"

    # --- tables, figures, report -------------------------------------------------------------
    def table(self, experiment: str, ext: str, part: str = "") -> str:
        """An experiment's table: the main one, or its ``part`` (``runs``, ``vs_paper``, a
        Table II-IV layout, ``published``)."""
        return f"{self.root}/tables/{experiment}{'_' + part if part else ''}.{ext}"

    def figure(self, experiment: str, what: str, ext: str) -> str:
        """An experiment's figure (``psnr_vs_k``, ``convergence``, ``aug_gain``, ``histograms``)."""
        return f"{self.root}/figures/{experiment}_{what}.{ext}"

    def correlation(self, dataset, patch, stride, task_a: str, task_b: str, ext: str) -> str:
        """Fig. 7: two tasks' scorer losses over a store, against each other."""
        store = f"{dataset}_p{patch}_s{stride}"
        return f"{self.root}/figures/correlation/{store}_{task_a}_vs_{task_b}.{ext}"

    def store_page(self, dataset, patch, stride) -> str:
        """The report's page on a patch store."""
        return f"{self.root}/report/stores/{dataset}_p{patch}_s{stride}.html"

    def dataset_page(self, dataset: str) -> str:
        """The report's page on a test or validation set."""
        return f"{self.root}/report/datasets/{dataset}.html"

    def config_page(self) -> str:
        """The report's page on the configuration the results came from."""
        return f"{self.root}/report/config.html"

    def paper_vs_ours(self, ext: str) -> str:
        """Every experiment's runs beside the paper's numbers."""
        return f"{self.root}/report/paper_vs_ours.{ext}"
