// The engine's components wired together, shared by `nextier serve`, `rebuild` and `demo`: the
// event store, the clock, the workflow registry, the read models with EVERY projection and the
// runner that keeps them current, the timer service, the providers, the services and the
// outbox. HTTP (server, routes, metrics, keys) stays in serve.cc.
//
// Opening happens in three steps, so each command takes only what it needs and serve keeps its
// order of checks (its keys and webhook secret are resolved between the first and the second):
//   Open            the data folder, the store (writer lock), the clock, the workflows
//   OpenReadModels  the read models, every projection, the runner (not started)
//   Start           the runner's thread, the providers, the services, due timers, the outbox
// Every step returns an error as a Status whose code is the cause's and whose message is the
// one-line reason serve prints after "serve: " (e.g. "read models: Corruption: ...").
//
// THE LIST OF PROJECTIONS lives in OpenReadModels (engine_wiring.cc): a new projection is a
// member below plus one line there, and serve, rebuild and demo all get it.
//
// Ownership: the Engine owns everything it opened; members are declared so that destruction
// stops the users (outbox, services, timers, runner) before what they use. Not thread-safe to
// open; once started, the components are as thread-safe as their own headers say.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nextier/adapters/data_hub.h"
#include "nextier/adapters/sandbox_skip_trace.h"
#include "nextier/adapters/sandbox_sms.h"
#include "nextier/common/status.h"
#include "nextier/engine/call_queue.h"
#include "nextier/engine/campaigns.h"
#include "nextier/engine/clock.h"
#include "nextier/engine/forget.h"
#include "nextier/engine/inbound.h"
#include "nextier/engine/lead_commands.h"
#include "nextier/engine/meetings.h"
#include "nextier/engine/outbox.h"
#include "nextier/engine/providers.h"
#include "nextier/engine/skip_trace.h"
#include "nextier/engine/sms_queue.h"
#include "nextier/engine/timers.h"
#include "nextier/engine/workflow_registry.h"
#include "nextier/eventstore/event_store.h"
#include "nextier/projections/calls_meetings.h"
#include "nextier/projections/dashboard.h"
#include "nextier/projections/files.h"
#include "nextier/projections/forgotten.h"
#include "nextier/projections/lead_index.h"
#include "nextier/projections/lead_pools.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/pending_timers.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"
#include "nextier/projections/responses.h"
#include "nextier/projections/sending.h"

namespace nextier::app {

struct EngineOptions {
  std::string data_dir = "./data";
  // "" loads no workflow (rebuild needs none; nothing may then be started).
  std::string workflows_dir;
  // Set: a simulated clock starting at the later of this and the newest recorded time.
  std::optional<engine::Micros> sim_start;
  // > 0: the event store's map may not grow past this many bytes (a full store fails appends
  // with ResourceExhausted "the event store is full"); 0: it grows as long as the disk has room.
  uint64_t max_store_bytes = 0;
  // The outside services; both null selects the sandbox (kept in DATA/sandbox).
  std::unique_ptr<engine::SmsProvider> sms;
  std::unique_ptr<engine::SkipTraceProvider> skip_trace_provider;
  std::string status_callback_url;
  // Optional: the AI second opinion on replies (null: the rules alone).
  std::shared_ptr<engine::ExternalClassifier> classifier;
  // Options of the services that callers tune (the demo speeds up the skip trace's waits).
  engine::SkipTraceOptions skip_trace;
  engine::OutboxOptions outbox;
};

class Engine {
 public:
  // Step 1 (see the file comment). Errors: Unavailable for a data folder that cannot be made
  // or a store another process holds (its code, e.g. Unavailable for the writer lock), the
  // store's and the workflows' own errors.
  static Result<std::unique_ptr<Engine>> Open(EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Step 2: opens DATA/projections with every projection and adds them to the runner.
  Status OpenReadModels();
  // Step 3: after OpenReadModels.
  Status Start();

  // Every projection the runner holds, in the order they were added (pending timers last).
  const std::vector<projections::Projection*>& projections() const { return all_; }

  const EngineOptions& options() const { return options_; }

  // The outside services; declared first so they outlive every user.
  std::unique_ptr<engine::SmsProvider> sms;
  std::unique_ptr<engine::SkipTraceProvider> skip_trace_provider;
  // The sandboxes, when they are the providers (their test hooks: api_sandbox.h).
  adapters::SandboxSms* sandbox_sms = nullptr;
  adapters::SandboxSkipTrace* sandbox_skip_trace = nullptr;

  // Step 1.
  std::unique_ptr<eventstore::EventStore> store;
  std::unique_ptr<engine::Clock> clock;
  engine::SimulatedClock* sim = nullptr;  // the clock, when simulated
  std::unique_ptr<engine::WorkflowRegistry> registry;

  // Step 2: the read models. A new projection goes here and in OpenReadModels.
  std::unique_ptr<projections::ReadModelStore> models;
  std::unique_ptr<projections::LeadIndexProjection> lead_index;
  std::unique_ptr<projections::FilesProjection> files;
  std::unique_ptr<projections::LeadsProjection> leads;
  std::unique_ptr<projections::LeadPoolsProjection> pools;
  std::unique_ptr<projections::OutboxProjection> outbox_pending;
  std::unique_ptr<projections::SuppressionProjection> suppression;
  std::unique_ptr<projections::CampaignsProjection> campaign_counts;
  std::unique_ptr<projections::ConversationsProjection> conversations;
  std::unique_ptr<projections::ResponsesProjection> responses;
  std::unique_ptr<projections::CallQueueProjection> call_queue;
  std::unique_ptr<projections::MeetingsProjection> meetings;
  std::unique_ptr<projections::DashboardProjection> dashboard;
  std::unique_ptr<projections::ForgottenProjection> forgotten;
  std::unique_ptr<projections::PendingTimers> pending_timers;
  std::unique_ptr<projections::ProjectionRunner> runner;

  // Step 3.
  std::unique_ptr<adapters::DataHub> data_hub;
  std::unique_ptr<engine::TimerService> timer_service;
  std::unique_ptr<engine::SkipTraceService> skip_trace;
  std::unique_ptr<engine::CampaignService> campaigns;
  std::unique_ptr<engine::SmsQueue> sms_queue;
  std::unique_ptr<engine::InboundService> inbound;
  // One lead command handler for the whole process: it serialises commands per lead.
  std::unique_ptr<engine::LeadCommandHandler> lead_commands;
  std::unique_ptr<engine::ForgetService> forget;
  std::unique_ptr<engine::CallQueueService> calls;
  std::unique_ptr<engine::MeetingService> meeting_service;
  std::unique_ptr<engine::Outbox> outbox;

 private:
  explicit Engine(EngineOptions options);

  EngineOptions options_;
  std::vector<projections::Projection*> all_;
};

}  // namespace nextier::app
