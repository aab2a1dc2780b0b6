"""Package layout that pyproject.toml cannot express on its own.

``validators/`` installs as ``orchestrator.validators`` (never as a bare
top-level ``validators``, which would shadow the PyPI package of that name),
and the example plan and format reference ship as ``orchestrator.examples.*``
so that ``orchestrate init`` works from an installed wheel.
"""

from setuptools import find_packages, setup

MAPPED = {
    "orchestrator.validators": "validators",
    "orchestrator.examples.plans": "plans",
    "orchestrator.examples.format_refs": "format_refs",
}

#: Folders of data files inside the package (no __init__.py of their own).
DATA_PACKAGES = ["orchestrator.data", "orchestrator.templates"]

setup(
    packages=find_packages(include=["orchestrator", "orchestrator.*"]) + DATA_PACKAGES + list(MAPPED),
    package_dir={"orchestrator": "orchestrator", **MAPPED},
)
