"""The GraphQL operations the console's pages run, by name (the ledger records the names)."""

from __future__ import annotations

PAGE = "totalCount pageInfo { hasNextPage endCursor }"

PARTNERS = f"""
query ConsolePartners($first: Int, $after: String, $audience: String) {{
  partners(first: $first, after: $after, audience: $audience) {{
    {PAGE}
    nodes {{ id name audience active contactEmail createdAt clients {{ clientId status }} }}
  }}
}}"""

CLIENTS = f"""
query ConsoleClients($first: Int, $after: String, $partnerId: ID) {{
  clients(first: $first, after: $after, partnerId: $partnerId) {{
    {PAGE}
    nodes {{ clientId name status scopes persistedOnly createdAt partnerId }}
  }}
}}"""

PERSON_BY_DOC_ID = """
query ConsolePersonByDocId($docId: String!) {
  people(docId: $docId, first: 1) { nodes { id docId lastName } }
}"""

WHO_SAW = f"""
query ConsoleWhoSaw($personId: ID!, $first: Int, $after: String) {{
  whoSaw(personId: $personId, first: $first, after: $after) {{
    {PAGE}
    nodes {{
      fieldClasses
      event {{ occurredAt clientId staffSubject audience operationName outcome requestId authority }}
    }}
  }}
}}"""

AUDIT_EVENTS = f"""
query ConsoleAuditEvents(
  $first: Int, $after: String, $outcome: AuditOutcome, $clientId: String, $kind: String,
  $partnerId: ID, $since: DateTime, $until: DateTime
) {{
  auditEvents(
    first: $first, after: $after, outcome: $outcome, clientId: $clientId, kind: $kind,
    partnerId: $partnerId, since: $since, until: $until
  ) {{
    {PAGE}
    nodes {{ occurredAt kind clientId staffSubject audience operationName outcome requestId }}
  }}
}}"""

INQUIRY_ROW = "id reference status category source requesterName summary receivedAt dueOn assignedTo"

INQUIRY_QUEUE = f"""
query ConsoleInquiryQueue($first: Int, $after: String, $status: InquiryStatus) {{
  overdue: inquiries(overdue: true, first: 100) {{ totalCount nodes {{ {INQUIRY_ROW} }} }}
  all: inquiries(first: $first, after: $after, status: $status) {{
    {PAGE}
    nodes {{ {INQUIRY_ROW} }}
  }}
}}"""

INQUIRY = """
query ConsoleInquiry($id: ID!) {
  inquiry(id: $id) {
    id reference status category source channel requesterName requesterEmail requesterPhone
    summary details receivedAt dueOn assignedTo closedAt reopenedCount version
    responses { respondedAt responder channel body }
  }
}"""

PAYLOAD = "errors { code field message } replayed inquiry { id status version }"

RESPOND = f"""
mutation ConsoleRespondToInquiry($input: RespondToInquiryInput!, $key: String) {{
  respondToInquiry(input: $input, idempotencyKey: $key) {{ {PAYLOAD} }}
}}"""

CLOSE = f"""
mutation ConsoleCloseInquiry($input: InquiryTransitionInput!, $key: String) {{
  closeInquiry(input: $input, idempotencyKey: $key) {{ {PAYLOAD} }}
}}"""

REOPEN = f"""
mutation ConsoleReopenInquiry($input: InquiryTransitionInput!, $key: String) {{
  reopenInquiry(input: $input, idempotencyKey: $key) {{ {PAYLOAD} }}
}}"""

NOTIFICATIONS = f"""
query ConsoleNotifications($first: Int, $after: String, $status: [NotificationStatus!], $unacknowledged: Boolean!) {{
  notifications(first: $first, after: $after, status: $status, unacknowledged: $unacknowledged) {{
    {PAGE}
    nodes {{
      id eventKind eventOccurredAt channel status attempts nextAttemptAt requiresAcknowledgement
      acknowledgedAt lastError createdAt
    }}
  }}
}}"""

#: Registrations by person, by name: the people to choose from.
PEOPLE_BY_NAME = """
query ConsolePeopleByName($name: String!) {
  people(name: $name, first: 20) { totalCount nodes { id docId firstName lastName } }
}"""

REGISTRATIONS_BY_PERSON = f"""
query ConsoleRegistrationsByPerson($personId: ID!, $first: Int, $after: String) {{
  victimRegistrations(personId: $personId, first: $first, after: $after) {{
    {PAGE}
    nodes {{
      id relationship status registeredOn endedOn
      victim {{ kind firstName lastName language }}
      preferences {{ channel destination active }}
    }}
  }}
}}"""

RESEARCH_AGREEMENTS = f"""
query ConsoleResearchAgreements($first: Int, $after: String, $status: AgreementStatus) {{
  researchAgreements(first: $first, after: $after, status: $status) {{
    {PAGE}
    nodes {{
      id reference partner title investigator institution irbExpiresOn requestedFields tier
      smallCellThreshold status decidedAt decidedBy
    }}
  }}
}}"""

RESEARCH_AGREEMENT = """
query ConsoleResearchAgreement($id: ID!) {
  researchAgreement(id: $id) {
    id reference partner title investigator institution irbNumber irbExpiresOn purpose requestedFields
    requestedCohort grantedFields startsOn endsOn tier smallCellThreshold status decidedAt decidedBy
    decisionNote version
    extracts { createdAt requestedBy rowCount fields release }
  }
}"""

AGREEMENT_PAYLOAD = "errors { code field message } replayed researchAgreement { id status version }"

APPROVE_AGREEMENT = f"""
mutation ConsoleApproveResearchAgreement($input: ApproveResearchAgreementInput!, $key: String) {{
  approveResearchAgreement(input: $input, idempotencyKey: $key) {{ {AGREEMENT_PAYLOAD} }}
}}"""

REJECT_AGREEMENT = f"""
mutation ConsoleRejectResearchAgreement($input: DecideResearchAgreementInput!, $key: String) {{
  rejectResearchAgreement(input: $input, idempotencyKey: $key) {{ {AGREEMENT_PAYLOAD} }}
}}"""

REVOKE_AGREEMENT = f"""
mutation ConsoleRevokeResearchAgreement($input: DecideResearchAgreementInput!, $key: String) {{
  revokeResearchAgreement(input: $input, idempotencyKey: $key) {{ {AGREEMENT_PAYLOAD} }}
}}"""

ASSIGN = f"""
mutation ConsoleAssignInquiry($input: AssignInquiryInput!, $key: String) {{
  assignInquiry(input: $input, idempotencyKey: $key) {{ {PAYLOAD} }}
}}"""

# --- the partner registry's administration (admin) ---------------------------------------------------

CLIENTS_CONTEXT = """
query ConsoleClientsContext {
  partners(first: 100) { totalCount nodes { id name audience active } }
  clientThrottles { clientId address failures lastFailureAt blockedUntil }
}"""

EVENTS_CONTEXT = """
query ConsoleEventsContext {
  partners(first: 100) { totalCount nodes { id name } }
  ledgerChain(recent: 100) {
    events headHash headAt checkedEvents intact brokenReason brokenEventId
    latestCheckpoint { events headId headHash signedAt keyId verified problem }
  }
}"""

ERRORS = "errors { code field message } replayed"
PARTNER_PAYLOAD = f"{ERRORS} partner {{ id name active }}"
CLIENT_PAYLOAD = f"{ERRORS} client {{ clientId status persistedOnly }}"

ADD_PARTNER = f"""
mutation ConsoleAddPartner($input: AddPartnerInput!, $key: String) {{
  addPartner(input: $input, idempotencyKey: $key) {{ {PARTNER_PAYLOAD} }}
}}"""

RENAME_PARTNER = f"""
mutation ConsoleRenamePartner($input: RenamePartnerInput!, $key: String) {{
  renamePartner(input: $input, idempotencyKey: $key) {{ {PARTNER_PAYLOAD} }}
}}"""

DISABLE_PARTNER = f"""
mutation ConsoleDisablePartner($input: PartnerAccessInput!, $key: String) {{
  disablePartner(input: $input, idempotencyKey: $key) {{ {PARTNER_PAYLOAD} }}
}}"""

ENABLE_PARTNER = f"""
mutation ConsoleEnablePartner($input: PartnerAccessInput!, $key: String) {{
  enablePartner(input: $input, idempotencyKey: $key) {{ {PARTNER_PAYLOAD} }}
}}"""

# The secret is asked for by these two only, and the page that shows it is the POST's own answer.
ADD_CLIENT = f"""
mutation ConsoleAddClient($input: AddClientInput!, $key: String) {{
  addClient(input: $input, idempotencyKey: $key) {{ {CLIENT_PAYLOAD} secret }}
}}"""

ROTATE_CLIENT_SECRET = f"""
mutation ConsoleRotateClientSecret($input: ClientInput!, $key: String) {{
  rotateClientSecret(input: $input, idempotencyKey: $key) {{ {CLIENT_PAYLOAD} secret }}
}}"""

DISABLE_CLIENT = f"""
mutation ConsoleDisableClient($input: ClientInput!, $key: String) {{
  disableClient(input: $input, idempotencyKey: $key) {{ {CLIENT_PAYLOAD} }}
}}"""

ENABLE_CLIENT = f"""
mutation ConsoleEnableClient($input: ClientInput!, $key: String) {{
  enableClient(input: $input, idempotencyKey: $key) {{ {CLIENT_PAYLOAD} }}
}}"""

SET_CLIENT_PERSISTED_ONLY = f"""
mutation ConsoleSetClientPersistedOnly($input: SetClientPersistedOnlyInput!, $key: String) {{
  setClientPersistedOnly(input: $input, idempotencyKey: $key) {{ {CLIENT_PAYLOAD} }}
}}"""

REMOVE_CLIENT = f"""
mutation ConsoleRemoveClient($input: ClientInput!, $key: String) {{
  removeClient(input: $input, idempotencyKey: $key) {{ {ERRORS} clientId }}
}}"""

PERSISTED_OPERATIONS = """
query ConsolePersistedOperations($clientId: String!) {
  persistedOperations(clientId: $clientId) { id document operationNames viaApq registeredAt lastUsedAt }
}"""

REGISTER_PERSISTED_OPERATION = f"""
mutation ConsoleRegisterPersistedOperation($input: RegisterPersistedOperationInput!, $key: String) {{
  registerPersistedOperation(input: $input, idempotencyKey: $key) {{ {ERRORS} id }}
}}"""

REMOVE_PERSISTED_OPERATION = f"""
mutation ConsoleRemovePersistedOperation($input: RemovePersistedOperationInput!, $key: String) {{
  removePersistedOperation(input: $input, idempotencyKey: $key) {{ {ERRORS} id }}
}}"""

# --- victim services: staff's part in delivery ------------------------------------------------------

NOTIFICATION_PAYLOAD = "errors { code field message } replayed notification { id status }"

RETRY_NOTIFICATION = f"""
mutation ConsoleRetryNotification($input: NotificationInput!, $key: String) {{
  retryNotification(input: $input, idempotencyKey: $key) {{ {NOTIFICATION_PAYLOAD} }}
}}"""

RECORD_NOTIFICATION_ACKNOWLEDGEMENT = f"""
mutation ConsoleRecordNotificationAcknowledgement($input: RecordNotificationAcknowledgementInput!, $key: String) {{
  recordNotificationAcknowledgement(input: $input, idempotencyKey: $key) {{ {NOTIFICATION_PAYLOAD} }}
}}"""

UNTHROTTLE_CLIENT = f"""
mutation ConsoleUnthrottleClient($input: UnthrottleClientInput!, $key: String) {{
  unthrottleClient(input: $input, idempotencyKey: $key) {{ {ERRORS} countsRemoved }}
}}"""

KEY_RING = "keys { kid alg status signing createdAt retiredAt verifiesUntil } nextRotationDue rotateEveryDays"

SIGNING_KEYS = f"""
query ConsoleSigningKeys {{
  signingKeys {{ {KEY_RING} }}
}}"""

ROTATE_SIGNING_KEY = """
mutation ConsoleRotateSigningKey($key: String) {
  rotateSigningKey(idempotencyKey: $key) { errors { code field message } replayed retired }
}"""

RETIRE_SIGNING_KEY = """
mutation ConsoleRetireSigningKey($input: RetireSigningKeyInput!, $key: String) {
  retireSigningKey(input: $input, idempotencyKey: $key) { errors { code field message } replayed changed }
}"""

HUB_HEALTH = """
query ConsoleHubHealth {
  hubHealth {
    checkedAt storeDialect storeRoundTripMs migrationRevision migrationHead migrationCurrent
    oldestDueSince oldestDueAgeS lastDeliveryAttemptAt
    workers {
      workerId host pid startedAt beatAt beatAgeS intervalS passes lastWorkAt lastWork stoppedAt stale
    }
  }
}"""
