"""The conda environments of `--sdm conda` agree with pyproject.toml's dependencies."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
ENVS = {"cpu": ROOT / "envs" / "patchmine-cpu.yaml", "cuda": ROOT / "envs" / "patchmine-cuda.yaml"}
#: Needed by the Snakemake process, not inside a job's environment (a job's Python script imports
#: the running Snakemake from the host, and the executor plugins run outside the environment).
HOST_ONLY = {"snakemake", "snakemake-executor-plugin-slurm"}
#: Versions probed to compare two lower bounds: every bound pyproject or an env names.
PROBES = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "20", "99"]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def project_requirements() -> dict[str, Requirement]:
    reqs = [Requirement(r) for r in pyproject()["project"]["dependencies"]]
    return {r.name.lower(): r for r in reqs}


def conda_spec(text: str) -> tuple[str, SpecifierSet]:
    """``numpy >=1.26`` or ``python =3.11`` (conda's =X is X.*) as a name and PEP 440 specifiers."""
    name, _, spec = text.strip().partition(" ")
    parts = []
    for part in filter(None, re.split(r"\s*,\s*", spec.strip())):
        if re.fullmatch(r"=[^=].*", part):
            part = "==" + part[1:] + ".*"
        parts.append(part.replace(" ", ""))
    return name.lower(), SpecifierSet(",".join(parts))


def environment(build: str) -> tuple[dict[str, SpecifierSet], dict[str, SpecifierSet], list]:
    """(conda packages, pip packages, pip options) of an environment file."""
    env = yaml.safe_load(ENVS[build].read_text())
    conda, pip, options = {}, {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for line in dep["pip"]:
                if line.startswith("-"):
                    options.append(line)
                else:
                    req = Requirement(line.replace(" ", ""))
                    pip[req.name.lower()] = req.specifier
        else:
            name, spec = conda_spec(dep)
            conda[name] = spec
    return conda, pip, options


def lower_bound(spec: SpecifierSet) -> Version | None:
    bounds = [Version(s.version) for s in spec if s.operator in (">=", ">", "==", "~=")]
    return max(bounds, default=None)


def candidates(*specs: SpecifierSet) -> list[Version]:
    """Versions around every bound the specifiers name (to compare what each allows)."""
    versions = {Version(p) for p in PROBES}
    for spec in specs:
        for s in spec:
            v = Version(s.version.rstrip(".*"))
            major, minor = v.release[0], (v.release[1] if len(v.release) > 1 else 0)
            versions |= {v, Version(f"{major}.{minor}.99"), Version(f"{major}.{minor + 1}")}
            versions |= {Version(f"{major + 1}"), Version(f"{major}.{max(minor - 1, 0)}")}
    return sorted(versions)


@pytest.mark.parametrize("build", sorted(ENVS))
def test_every_job_dependency_is_in_the_environment(build):
    conda, pip, _ = environment(build)
    wanted = set(project_requirements()) - HOST_ONLY
    have = set(conda) | set(pip)
    assert wanted <= have, f"missing from {ENVS[build].name}: {sorted(wanted - have)}"
    extra = have - wanted - {"python", "pip"}
    assert not extra, f"{ENVS[build].name} has packages pyproject.toml does not: {sorted(extra)}"


@pytest.mark.parametrize("build", sorted(ENVS))
def test_environment_bounds_are_within_pyproject(build):
    """Every version an environment allows, pyproject.toml allows too, and both name the same
    lower bound (so the environment tests what a pip install of the project gets at worst)."""
    conda, pip, _ = environment(build)
    for name, req in project_requirements().items():
        if name in HOST_ONLY:
            continue
        env_spec = conda.get(name, pip.get(name))
        assert lower_bound(env_spec) == lower_bound(req.specifier), (name, env_spec, req)
        for v in candidates(env_spec, req.specifier):
            if env_spec.contains(v, prereleases=True):
                assert req.specifier.contains(v, prereleases=True), (name, str(v), build)


@pytest.mark.parametrize("build", sorted(ENVS))
def test_python_version_is_one_the_project_supports(build):
    conda, _, _ = environment(build)
    requires = SpecifierSet(pyproject()["project"]["requires-python"])
    allowed = [v for v in candidates(conda["python"]) if conda["python"].contains(v)]
    assert allowed and all(requires.contains(v) for v in allowed), conda["python"]


@pytest.mark.parametrize(
    ("build", "index"),
    [
        ("cpu", r"https://download\.pytorch\.org/whl/cpu"),
        ("cuda", r"https://download\.pytorch\.org/whl/cu1\d\d"),
    ],
)
def test_torch_comes_from_its_builds_index_only(build, index):
    conda, pip, options = environment(build)
    assert "torch" in pip and "torch" not in conda, "torch is installed by pip from PyTorch's index"
    (option,) = options
    flag, _, url = option.partition(" ")
    assert flag == "--index-url", "an extra index lets pip take another build of torch from PyPI"
    assert re.fullmatch(index, url.strip()), url
    assert set(pip) == {"torch"}, "only torch comes from PyTorch's index"


def test_environments_differ_only_in_the_torch_build():
    cpu, cuda = environment("cpu"), environment("cuda")
    assert cpu[0] == cuda[0] and cpu[1] == cuda[1]
    assert cpu[2] != cuda[2]
