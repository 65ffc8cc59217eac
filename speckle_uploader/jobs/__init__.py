"""Jobs: one file on its way to becoming a model version, and the queue that runs them."""

from speckle_uploader.jobs.job import Job, JobEvent, JobState
from speckle_uploader.jobs.queue import JobQueue, PollPolicy

__all__ = ["Job", "JobEvent", "JobQueue", "JobState", "PollPolicy"]
