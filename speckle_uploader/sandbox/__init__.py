"""A local Speckle-compatible server: GraphQL, presigned blob storage, REST upload, simulated imports."""

from speckle_uploader.sandbox.runner import SandboxServer, ThreadedSandbox
from speckle_uploader.sandbox.store import DEMO_TOKEN, Flavor, SandboxConfig

__all__ = ["DEMO_TOKEN", "Flavor", "SandboxConfig", "SandboxServer", "ThreadedSandbox"]
