"""The one table of lanes: which queue a lane's pages wait in, which actor reads them, and in
what order a worker takes them. Everything else (the actors, sending, recovery, the queue's
order and the operators' figures) reads this table.

To add a lane: add a row here, a `Job.Lane` choice with a migration, and the queue to the
workers (`runworkers --queues`); nothing else names lanes.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Lane:
    name: str  # as stored in Job.lane
    label: str
    queue: str  # the broker queue its page messages wait in
    actor: str  # the actor that reads its pages
    priority: int  # of its actor: a worker holding messages of several lanes runs the lowest first


# In the order they are served.
LANES = (
    Lane("priority", "Priority", queue="pages-priority", actor="read_priority_page", priority=5),
    Lane("standard", "Standard", queue="pages", actor="read_standard_page", priority=10),
    Lane("bulk", "Bulk", queue="pages-bulk", actor="read_bulk_page", priority=20),
)
BY_NAME = {lane.name: lane for lane in LANES}
DEFAULT = BY_NAME["standard"]
# Pages handed back after their worker died go here: they have waited once already.
RECOVERED = BY_NAME["priority"]

# Starting and extracting are quick and decide what the workers do next, so they go before
# any page, in a queue of their own.
DOCUMENTS_QUEUE = "documents"
START_ACTOR = "start_document"
EXTRACT_ACTOR = "extract_document"
DOCUMENTS_PRIORITY = 0

PAGE_QUEUES = tuple(lane.queue for lane in LANES)
PAGE_ACTORS = frozenset(lane.actor for lane in LANES)
QUEUES = (DOCUMENTS_QUEUE, *PAGE_QUEUES)


def order(lane_name: str | None) -> int:
    """Where a lane comes in the order of service (an unknown lane counts as standard)."""
    names = [lane.name for lane in LANES]
    return names.index(lane_name) if lane_name in names else names.index(DEFAULT.name)
