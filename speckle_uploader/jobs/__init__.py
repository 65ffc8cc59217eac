"""Jobs: one file on its way to becoming a model version, the queue that runs them, the history that keeps
them, and the workspace that assembles all of it for one signed-in server."""

from speckle_uploader.jobs.job import Job, JobEvent, JobState
from speckle_uploader.jobs.policy import EngineSettings, PollPolicy, RetryPolicy
from speckle_uploader.jobs.queue import JobQueue
from speckle_uploader.jobs.workspace import Workspace

__all__ = ["EngineSettings", "Job", "JobEvent", "JobQueue", "JobState", "PollPolicy", "RetryPolicy", "Workspace"]
