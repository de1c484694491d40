# The event envelope and every payload of the lead journey.
#
# This file is a format that outlives processes: fields are only ever added (new ordinals),
# never renumbered, retyped or removed. See eventstore/FORMAT.md for how a record is stored and
# hashed. Times are microseconds since the Unix epoch, UTC, in business time (the engine's
# clock). Ids are opaque text. Personal data (names, phones, emails, addresses, message bodies,
# notes) is never stored in clear: it travels in `personal :Data` fields holding a `Personal`
# message sealed with AES-256-GCM under the key of the envelope's `keySubject`.
@0xc3e5225ff2dc49da;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("nextier::eventstore::schema");

struct Event {
  seq @0 :UInt64;             # global position, dense from 1 (set by the store)
  streamId @1 :Text;          # "lead-<id>", "campaign-<id>", "file-<id>", "skiptrace-<id>", ...
  streamVersion @2 :UInt64;   # dense from 1 within the stream (set by the store)
  type @3 :Text;              # the payload's name, e.g. "LeadImported" (set by the store)
  recordedAt @4 :Int64;       # business time, microseconds since epoch
  correlationId @5 :Text;     # the request or job that started the chain
  causationId @6 :Text;       # the event (or command) that caused this one
  workflowId @7 :Text;
  workflowVersion @8 :Text;
  actor @9 :Text;             # "ops:alice", "agent:bob", "system:dispatcher", "webhook:signalhouse"
  tenant @10 :Text;           # one tenant per data folder for now (set by the store)
  prevHash @11 :Data;         # SHA-256 of the previous event's record body (set by the store)
  hash @12 :Data;             # empty at rest: the record header carries it (FORMAT.md)
  keySubject @13 :Text;       # whose key sealed the `personal` fields here; "" when none
  commandId @14 :Text;        # the deterministic id of the command that produced this event

  payload :union {
    opaque @15 :Opaque;

    # Data hub (stream file-<id>, lead-<id>)
    fileUploaded @16 :FileUploaded;
    fileProgressed @17 :FileProgressed;
    fileFinished @18 :FileFinished;
    fileFailed @19 :FileFailed;
    leadImported @20 :LeadImported;
    duplicateFound @21 :DuplicateFound;
    leadRejected @22 :LeadRejected;

    # Skip trace (stream skiptrace-<id>, lead-<id>)
    skipTraceJobStarted @23 :SkipTraceJobStarted;
    skipTraceJobFinished @24 :SkipTraceJobFinished;
    leadEnriched @25 :LeadEnriched;
    leadNoHit @26 :LeadNoHit;
    skipTraceAttemptFailed @27 :SkipTraceAttemptFailed;

    # Campaigns (stream campaign-<id>, lead-<id>)
    campaignCreated @28 :CampaignCreated;
    campaignStarted @29 :CampaignStarted;
    campaignPaused @30 :CampaignPaused;
    campaignResumed @31 :CampaignResumed;
    campaignCompleted @32 :CampaignCompleted;
    campaignMigrated @33 :CampaignMigrated;
    blockDrawn @34 :BlockDrawn;
    batchDispatched @35 :BatchDispatched;
    leadQueued @36 :LeadQueued;

    # Outbound SMS (outbox: intent, then outcome)
    smsSendIntended @37 :SmsSendIntended;
    smsSent @38 :SmsSent;
    smsSendFailed @39 :SmsSendFailed;
    smsSendUnknown @40 :SmsSendUnknown;
    smsDelivered @41 :SmsDelivered;
    smsDeliveryFailed @42 :SmsDeliveryFailed;

    # Inbound replies and what they cause
    replyReceived @43 :ReplyReceived;
    leadResponded @44 :LeadResponded;
    leadGoldLabeled @45 :LeadGoldLabeled;
    leadOptedOut @46 :LeadOptedOut;
    leadNotInterested @47 :LeadNotInterested;
    numberSuppressed @48 :NumberSuppressed;

    # Call queue
    callQueued @49 :CallQueued;
    callAssigned @50 :CallAssigned;
    callCompleted @51 :CallCompleted;
    callRequeued @52 :CallRequeued;
    callClosed @53 :CallClosed;

    # Meetings
    meetingBooked @54 :MeetingBooked;
    meetingCancelled @55 :MeetingCancelled;
    meetingRescheduled @56 :MeetingRescheduled;
    reminderSent @57 :ReminderSent;
    reminderSkipped @58 :ReminderSkipped;

    # Durable timers
    timerScheduled @59 :TimerScheduled;
    timerFired @60 :TimerFired;
    timerCancelled @61 :TimerCancelled;

    # Workflows and privacy
    workflowVersionRecorded @62 :WorkflowVersionRecorded;
    leadForgotten @63 :LeadForgotten;

    # Counters kept as streams whose version is the count, appended in the same unit as what
    # they count (expected version = the count read), so a limit holds across threads and
    # restarts.
    skipTraceCounted @64 :SkipTraceCounted;  # stream skiptrace-day-<YYYY-MM-DD>
    leadIdAssigned @65 :LeadIdAssigned;      # stream lead-ids
    smsCapCounted @66 :SmsCapCounted;        # stream smscap-<fromNumber>-<YYYY-MM-DD>

    # Meetings, later additions
    meetingOutcomeRecorded @67 :MeetingOutcomeRecorded;
  }
}

# Sealed inside `personal :Data` fields; never stored in clear. The sealed plaintext is this
# message packed, behind a 0xFF byte (older stores: unpacked); see nextier/eventstore/personal.h.
struct Personal {
  firstName @0 :Text;
  lastName @1 :Text;
  fullName @2 :Text;
  phones @3 :List(Text);      # E.164
  email @4 :Text;
  street @5 :Text;
  city @6 :Text;
  state @7 :Text;             # two letters
  zip @8 :Text;               # five digits
  mailingAddress @9 :Text;
  propertyAddress @10 :Text;
  body @11 :Text;             # an SMS text
  rawBody @12 :Text;          # a webhook's raw body, kept as evidence
  fromNumber @13 :Text;
  toNumber @14 :Text;
  notes @15 :Text;
  attributes @16 :List(Attribute);  # unknown CSV columns
  emails @17 :List(Text);
}

struct Attribute {
  name @0 :Text;
  value @1 :Text;
}

struct Opaque {
  kind @0 :Text;
  data @1 :Data;
}

struct RowError {
  row @0 :UInt64;
  reason @1 :Text;
}

struct ColumnMapping {
  header @0 :Text;
  field @1 :Text;
}

struct FileCounts {
  rows @0 :UInt64;
  imported @1 :UInt64;
  duplicates @2 :UInt64;
  rejected @3 :UInt64;
  entities @4 :UInt64;
}

struct FileUploaded {
  fileId @0 :Text;
  name @1 :Text;
  source @2 :Text;            # usbizdata | apollo | property | generic
  sizeBytes @3 :UInt64;
  mapping @4 :List(ColumnMapping);
}

struct FileProgressed {
  counts @0 :FileCounts;
}

struct FileFinished {
  counts @0 :FileCounts;
  errors @1 :List(RowError);  # the first 100
  mapping @2 :List(ColumnMapping);
}

struct FileFailed {
  reason @0 :Text;
  counts @1 :FileCounts;
}

struct LeadImported {
  leadId @0 :Text;
  fileId @1 :Text;
  row @2 :UInt64;
  source @3 :Text;
  personal @4 :Data;          # sealed Personal: names, phones, email, address, attributes
  company @5 :Text;
  title @6 :Text;
  roleScore @7 :Int32;
  isEntity @8 :Bool;
  phoneHashes @9 :List(Data); # keyed hashes for lookups and dedupe, never plaintext
  emailHash @10 :Data;
  nameKeyHash @11 :Data;      # keyed hash of normalised name + company + zip
}

struct DuplicateFound {
  fileId @0 :Text;
  row @1 :UInt64;
  matchedLeadId @2 :Text;
  matchedBy @3 :Text;         # phone | email | name_company_zip
}

struct LeadRejected {
  code @0 :Text;              # entity | invalid
  reason @1 :Text;
}

struct SkipTraceCounts {
  requested @0 :UInt64;
  processed @1 :UInt64;
  enriched @2 :UInt64;
  noHit @3 :UInt64;
  rejectedEntity @4 :UInt64;
  rejectedInvalid @5 :UInt64;
  failed @6 :UInt64;          # provider errors after the last retry (the lead stays raw)
  skipped @7 :UInt64;
}

struct SkipTraceJobStarted {
  jobId @0 :Text;
  fileId @1 :Text;
  leadIds @2 :List(Text);
  limit @3 :UInt64;
  provider @4 :Text;
  skipped @5 :UInt64;         # asked-for lead ids left out (not raw, unknown, busy, over the limit)
}

struct SkipTraceJobFinished {
  jobId @0 :Text;
  status @1 :Text;            # done | failed
  counts @2 :SkipTraceCounts;
  reason @3 :Text;
}

struct LeadEnriched {
  jobId @0 :Text;
  humanId @1 :Text;           # the LEAD ID, e.g. NXT-000123
  personal @2 :Data;          # sealed Personal: phones and emails found
  phoneType @3 :Text;         # mobile | landline | voip
  provider @4 :Text;
  dayKey @5 :Text;            # the provider day this counted against, e.g. 2026-11-28
  phoneHash @6 :Data;
}

struct LeadNoHit {
  jobId @0 :Text;
  reason @1 :Text;
  dayKey @2 :Text;
}

struct SkipTraceAttemptFailed {
  jobId @0 :Text;
  attempt @1 :UInt32;
  reason @2 :Text;
  final @3 :Bool;
}

struct CampaignCreated {
  campaignId @0 :Text;
  name @1 :Text;
  workflowId @2 :Text;
  workflowVersion @3 :Text;
  signalhouseCampaignId @4 :Text;
  fromNumber @5 :Text;
  aiWorker @6 :Text;
}

struct CampaignStarted {
  blockNumber @0 :UInt32;
}

struct CampaignPaused {
  reason @0 :Text;
}

struct CampaignResumed {}

struct CampaignCompleted {
  reason @0 :Text;
}

struct CampaignMigrated {
  fromVersion @0 :Text;
  toVersion @1 :Text;
}

struct BlockDrawn {
  blockNumber @0 :UInt32;
  leadIds @1 :List(Text);
  batchSize @2 :UInt32;
  batchCount @3 :UInt32;
}

struct BatchDispatched {
  blockNumber @0 :UInt32;
  batchNumber @1 :UInt32;
  size @2 :UInt32;
  sent @3 :UInt32;
  deferred @4 :UInt32;        # waiting for quiet hours or the daily cap
}

struct LeadQueued {
  campaignId @0 :Text;
  blockNumber @1 :UInt32;
  batchNumber @2 :UInt32;
}

struct SmsSendIntended {
  messageKey @0 :Text;        # the provider idempotency key of this send
  kind @1 :Text;              # opener | followup | autoreply | confirmation | reminder | help | optout
  campaignId @2 :Text;
  fromNumber @3 :Text;
  personal @4 :Data;          # sealed Personal: toNumber and body
  template @5 :Text;
  segments @6 :UInt32;
  encoding @7 :Text;          # GSM-7 | UCS-2
  toHash @8 :Data;
  dayKey @9 :Text;            # the carrier day (America/Los_Angeles) counted against the cap
}

struct SmsSent {
  messageKey @0 :Text;
  providerMessageId @1 :Text;
  kind @2 :Text;
  reconciled @3 :Bool;        # learned by looking the send up after a crash
}

struct SmsSendFailed {
  messageKey @0 :Text;
  code @1 :Text;
  reason @2 :Text;
  permanent @3 :Bool;
}

struct SmsSendUnknown {
  messageKey @0 :Text;
  reason @1 :Text;
}

struct SmsDelivered {
  providerMessageId @0 :Text;
  segmentCount @1 :UInt32;
}

struct SmsDeliveryFailed {
  providerMessageId @0 :Text;
  reason @1 :Text;
}

struct ReplyReceived {
  providerMessageId @0 :Text;
  deliveryId @1 :Text;
  personal @2 :Data;          # sealed Personal: fromNumber, toNumber, body, rawBody, email
  classification @3 :Text;    # OPT_OUT | HELP | EMAIL | POSITIVE | NEGATIVE | QUESTION | WRONG_NUMBER | OTHER
  goldLabel @4 :Bool;
  fromHash @5 :Data;
  leadId @6 :Text;            # "" for a reply from an unknown number
}

struct LeadResponded {
  classification @0 :Text;
  providerMessageId @1 :Text;
}

struct LeadGoldLabeled {
  personal @0 :Data;          # sealed Personal: email
  phoneVerified @1 :Bool;
  goldLabeledAt @2 :Int64;
  providerMessageId @3 :Text;
  emailHash @4 :Data;
}

struct LeadOptedOut {
  source @0 :Text;            # reply | provider | api
  providerMessageId @1 :Text;
  phoneHash @2 :Data;
}

struct LeadNotInterested {
  source @0 :Text;            # reply | call
  reason @1 :Text;
}

struct NumberSuppressed {
  phoneHash @0 :Data;
  reason @1 :Text;            # wrong_number | opt_out
}

struct CallQueued {
  entryId @0 :Text;
  priority @1 :Float64;
  campaignId @2 :Text;
  reason @3 :Text;
}

struct CallAssigned {
  entryId @0 :Text;
  agent @1 :Text;
}

struct CallCompleted {
  entryId @0 :Text;
  agent @1 :Text;
  disposition @2 :Text;       # booked | no_answer | voicemail | callback | not_interested | wrong_number
  personal @3 :Data;          # sealed Personal: notes
  callbackAt @4 :Int64;
}

struct CallRequeued {
  entryId @0 :Text;
  reason @1 :Text;
}

struct CallClosed {
  entryId @0 :Text;
  reason @1 :Text;
}

struct MeetingBooked {
  meetingId @0 :Text;
  startsAt @1 :Int64;
  durationMinutes @2 :UInt32;
  agent @3 :Text;
  link @4 :Text;
}

struct MeetingCancelled {
  meetingId @0 :Text;
  reason @1 :Text;
}

struct MeetingRescheduled {
  meetingId @0 :Text;
  startsAt @1 :Int64;
  previousStartsAt @2 :Int64;
}

# What became of a booked meeting once it started: it took place, or the lead did not come
# (no_show: the lead goes back to called, so it can be booked again).
struct MeetingOutcomeRecorded {
  meetingId @0 :Text;
  outcome @1 :Text;           # completed | no_show
}

struct ReminderSent {
  meetingId @0 :Text;
  offset @1 :Text;            # 24h | 1h | 15m
  messageKey @2 :Text;
}

struct ReminderSkipped {
  meetingId @0 :Text;
  offset @1 :Text;
  reason @2 :Text;
}

struct TimerScheduled {
  timerId @0 :Text;
  dueAt @1 :Int64;
  kind @2 :Text;              # batch | followup | reminder | callback | skiptrace_resume | ...
  target @3 :Text;            # the stream the timer acts on
  args @4 :Text;              # small JSON object of parameters
}

struct TimerFired {
  timerId @0 :Text;
  firedAt @1 :Int64;
}

struct TimerCancelled {
  timerId @0 :Text;
  reason @1 :Text;
}

struct WorkflowVersionRecorded {
  workflowId @0 :Text;
  version @1 :Text;
  definition @2 :Text;        # the canonical JSON of the definition
}

struct LeadForgotten {
  reason @0 :Text;
  # Other key subjects destroyed with the lead's own (its stream's): the orphan replies that
  # came from one of its numbers ("orphan:<id>").
  subjects @1 :List(Text);
}

struct SkipTraceCounted {
  jobId @0 :Text;
  leadId @1 :Text;
  outcome @2 :Text;           # enriched | no_hit | failed (+ entity | invalid | skipped on the job)
}

struct LeadIdAssigned {
  leadId @0 :Text;
  humanId @1 :Text;           # NXT-000123; the stream version is its number
}

struct SmsCapCounted {
  messageKey @0 :Text;
  leadId @1 :Text;
  kind @2 :Text;
}
