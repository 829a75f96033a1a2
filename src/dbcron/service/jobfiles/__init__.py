"""Jobs as files: ``dbcron export`` writes jobs as a declarative YAML or JSON file,
``dbcron apply`` makes the database match one (create, update and, with ``--prune``,
delete), showing the plan first.

- :mod:`~dbcron.service.jobfiles.source`: reading YAML or JSON with the line of every
  value, so that an error names the file, the line and the field;
- :mod:`~dbcron.service.jobfiles.templates`: ``defaults``, ``templates`` and ``extends``;
- :mod:`~dbcron.service.jobfiles.fields`: the fields of a job in a file, their defaults,
  the keys export derives from names;
- :mod:`~dbcron.service.jobfiles.plan`: matching by key, the plan and its field diffs;
- :mod:`~dbcron.service.jobfiles.service`: :class:`JobFiles`, what the adapters call.
"""

from dbcron.service.jobfiles.plan import Action, ApplyResult, FieldChange, Plan, PlannedChange
from dbcron.service.jobfiles.service import FORMATS, Exported, JobFiles
from dbcron.service.jobfiles.source import JobFileError

__all__ = [
    "FORMATS",
    "Action",
    "ApplyResult",
    "Exported",
    "FieldChange",
    "JobFileError",
    "JobFiles",
    "Plan",
    "PlannedChange",
]
