"""A synthetic, deterministic department for demos, tests and load measurements (``hub seed``).

Every name, number and identifier in it is invented; the same seed and scale always write the same
department.
"""

from hub.synthetic.department import DepartmentExists, InvalidScale, seed_department

__all__ = ["DepartmentExists", "InvalidScale", "seed_department"]
