"""Every GraphQL document the app sends, in one place so a test can check each against the real schema.

``SERVER_KINDS`` says which kinds of server each document is sent to; the contract test validates the
cloud ones against the open-source schema plus the app.speckle.systems delta, the others against the
open-source schema alone.
"""

from __future__ import annotations

from speckle_uploader.speckle.models import ServerKind

UPLOAD_API_PROBE = """
query UploadApiProbe {
  __type(name: "FileUploadMutations") { fields { name } }
}
"""

SERVER_INFO = """
query ServerInfo {
  serverInfo { name version canonicalUrl configuration { blobSizeLimitBytes } }
}
"""

ACTIVE_USER = """
query ActiveUser {
  activeUser { id name email avatar }
}
"""

_PERMISSION = "authorized code message"

USER_PROJECTS = f"""
query UserProjects($limit: Int!, $cursor: String, $filter: UserProjectsFilter) {{
  activeUser {{
    id
    projects(limit: $limit, cursor: $cursor, filter: $filter) {{
      totalCount
      cursor
      items {{
        id name role updatedAt
        permissions {{ canPublish {{ {_PERMISSION} }} canCreateModel {{ {_PERMISSION} }} }}
      }}
    }}
  }}
}}
"""

PROJECT = f"""
query Project($projectId: String!) {{
  project(id: $projectId) {{
    id name role updatedAt
    permissions {{ canPublish {{ {_PERMISSION} }} canCreateModel {{ {_PERMISSION} }} }}
  }}
}}
"""

PROJECT_MODELS = """
query ProjectModels($projectId: String!, $limit: Int!, $cursor: String, $search: String) {
  project(id: $projectId) {
    id
    models(limit: $limit, cursor: $cursor, filter: { search: $search }) {
      totalCount
      cursor
      items { id name displayName updatedAt }
    }
  }
}
"""

CREATE_MODEL = """
mutation CreateModel($input: CreateModelInput!) {
  modelMutations { create(input: $input) { id name displayName updatedAt } }
}
"""

# Whether a model this app created is still empty: no version, and no import on its way into it (an
# upload by someone else may be in flight). The cloud also says so through the model's latest ingestion.
MODEL_CONTENTS = """
query ModelContents($projectId: String!, $modelId: String!) {
  project(id: $projectId) {
    id
    model(id: $modelId) { id versions(limit: 1) { totalCount } pendingImportedVersions(limit: 1) { id } }
  }
}
"""

MODEL_CONTENTS_CLOUD = """
query ModelContentsCloud($projectId: String!, $modelId: String!) {
  project(id: $projectId) {
    id
    model(id: $modelId) {
      id
      versions(limit: 1) { totalCount }
      pendingImportedVersions(limit: 1) { id }
      latestIngestion { id statusData { __typename } }
    }
  }
}
"""

DELETE_MODEL = """
mutation DeleteModel($input: DeleteModelInput!) {
  modelMutations { delete(input: $input) }
}
"""

# The message a person sees beside each version in Speckle ("Exported for Monday's coordination").
UPDATE_VERSION = """
mutation UpdateVersion($input: UpdateVersionInput!) {
  versionMutations { update(input: $input) { id message } }
}
"""

GENERATE_UPLOAD_URL = """
mutation GenerateUploadUrl($input: GenerateFileUploadUrlInput!) {
  fileUploadMutations { generateUploadUrl(input: $input) { url fileId } }
}
"""

# The cloud adds headers that must go with the PUT (the open-source schema has no such field).
GENERATE_UPLOAD_URL_CLOUD = """
mutation GenerateUploadUrlCloud($input: GenerateFileUploadUrlInput!) {
  fileUploadMutations {
    generateUploadUrl(input: $input) { url fileId additionalRequestHeaders { header value } }
  }
}
"""

START_FILE_IMPORT = """
mutation StartFileImport($input: StartFileImportInput!) {
  fileUploadMutations {
    startFileImport(input: $input) { id convertedStatus convertedMessage convertedVersionId }
  }
}
"""

_INGESTION_FIELDS = """
id
modelId
cancellationRequested
statusData {
  __typename
  ... on ModelIngestionQueuedStatus { status progressMessage }
  ... on ModelIngestionProcessingStatus { status progressMessage progress }
  ... on ModelIngestionSuccessStatus { status versionId }
  ... on ModelIngestionFailedStatus { status errorReason }
  ... on ModelIngestionCancelledStatus { status cancellationMessage }
  ... on ModelIngestionInvalidStatus { status validationMessage }
}
"""

START_FILE_INGESTION = f"""
mutation StartFileIngestion($input: StartFileImportInput!) {{
  fileUploadMutations {{ startFileIngestion(input: $input) {{ {_INGESTION_FIELDS} }} }}
}}
"""

INGESTION_STATUS = f"""
query IngestionStatus($projectId: String!, $ingestionId: ID!) {{
  project(id: $projectId) {{ id ingestion(id: $ingestionId) {{ {_INGESTION_FIELDS} }} }}
}}
"""

REQUEST_INGESTION_CANCELLATION = f"""
mutation RequestIngestionCancellation($input: ModelIngestionRequestCancellationInput!) {{
  projectMutations {{
    modelIngestionMutations {{ requestCancellation(input: $input) {{ {_INGESTION_FIELDS} }} }}
  }}
}}
"""

# Deprecated upstream, but the one lookup of an upload by id that every open-source version has.
FILE_UPLOAD_STATUS = """
query FileUploadStatus($projectId: String!, $fileId: String!) {
  stream(id: $projectId) {
    id
    fileUpload(id: $fileId) { id convertedStatus convertedMessage convertedVersionId modelName }
  }
}
"""

INGESTION_UPDATED = f"""
subscription IngestionUpdated($input: ProjectModelIngestionSubscriptionInput!) {{
  projectModelIngestionUpdated(input: $input) {{ type modelIngestion {{ {_INGESTION_FIELDS} }} }}
}}
"""

PENDING_VERSIONS_UPDATED = """
subscription PendingVersionsUpdated($projectId: String!) {
  projectPendingVersionsUpdated(id: $projectId) {
    id
    type
    version { id convertedStatus convertedMessage convertedVersionId modelName }
  }
}
"""

_ALL = frozenset(ServerKind)
_PRESIGNED = frozenset({ServerKind.CLOUD_INGESTION, ServerKind.FILE_IMPORT})
_CLOUD = frozenset({ServerKind.CLOUD_INGESTION})

SERVER_KINDS: dict[str, frozenset[ServerKind]] = {
    UPLOAD_API_PROBE: _ALL,
    SERVER_INFO: _ALL,
    ACTIVE_USER: _ALL,
    USER_PROJECTS: _ALL,
    PROJECT: _ALL,
    PROJECT_MODELS: _ALL,
    CREATE_MODEL: _ALL,
    MODEL_CONTENTS: frozenset({ServerKind.FILE_IMPORT, ServerKind.LEGACY_REST}),
    MODEL_CONTENTS_CLOUD: _CLOUD,
    DELETE_MODEL: _ALL,
    UPDATE_VERSION: _ALL,
    GENERATE_UPLOAD_URL: frozenset({ServerKind.FILE_IMPORT}),
    GENERATE_UPLOAD_URL_CLOUD: _CLOUD,
    START_FILE_IMPORT: frozenset({ServerKind.FILE_IMPORT}),
    START_FILE_INGESTION: _CLOUD,
    INGESTION_STATUS: _CLOUD,
    REQUEST_INGESTION_CANCELLATION: _CLOUD,
    FILE_UPLOAD_STATUS: frozenset({ServerKind.FILE_IMPORT, ServerKind.LEGACY_REST}),
    INGESTION_UPDATED: _CLOUD,
    PENDING_VERSIONS_UPDATED: frozenset({ServerKind.FILE_IMPORT, ServerKind.LEGACY_REST}),
}
