// The call queue on the simulated clock: priority order then oldest, assignment conflicts,
// every disposition's effect, and the callback timer that requeues an entry at callbackAt.
#include "nextier/engine/call_queue.h"

#include <capnp/message.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nextier/engine/lead.h"
#include "nextier/engine/lead_commands.h"
#include "nextier/engine/timers.h"
#include "nextier/engine/workflow_registry.h"
#include "nextier/eventstore/personal.h"
#include "nextier/projections/calls_meetings.h"
#include "nextier/projections/leads.h"
#include "nextier/projections/pending_timers.h"
#include "nextier/projections/sending.h"
#include "testing/testing.h"

namespace nextier::engine {
namespace {

namespace es = nextier::eventstore;
namespace pj = nextier::projections;

// 2026-11-28T15:00:00Z.
constexpr Micros kStart = Micros{1'795'878'000} * kMicrosPerSecond;
constexpr Micros kMinute = 60 * kMicrosPerSecond;
constexpr Micros kHour = 60 * kMinute;

capnp::Data::Reader Bytes(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(s.data()), s.size());
}

std::string Phone(int i) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "+1212234%04d", i % 10000);
  return buf;
}

struct Rig {
  explicit Rig(const std::string& dir) : clock(kStart) {
    es::LmdbOptions lo;
    lo.path = dir + "/log";
    lo.sync = false;
    store = es::OpenLmdbEventStore(lo).value();
    pj::ReadModelOptions ro;
    ro.path = dir + "/projections";
    ro.sync = false;
    models = pj::ReadModelStore::Open(ro).value();
    leads = pj::LeadsProjection::Open(*models, store->keys()).value();
    suppression = pj::SuppressionProjection::Open(*models).value();
    calls = pj::CallQueueProjection::Open(*models).value();
    timers = pj::PendingTimers::Open(*models).value();
    runner = std::make_unique<pj::ProjectionRunner>(*store, *models);
    for (pj::Projection* p : std::initializer_list<pj::Projection*>{leads.get(), suppression.get(),
                                                                    calls.get(), timers.get()}) {
      Status s = runner->Add(*p);
      if (!s.ok()) throw std::runtime_error(s.ToString());
    }
    registry = std::make_unique<WorkflowRegistry>(*store, clock);
    Status s = registry->LoadLogAndDirectory(std::string(NEXTIER_SOURCE_DIR) + "/workflows");
    if (!s.ok()) throw std::runtime_error(s.ToString());
    handler = std::make_unique<LeadCommandHandler>(*store, clock);
    timer_service = std::make_unique<TimerService>(*store, *runner, *timers, clock);
    service = std::make_unique<CallQueueService>(*store, clock, *handler, *runner, *leads);
    service->RegisterTimerHandlers(*timer_service);
    s = timer_service->Start();
    if (!s.ok()) throw std::runtime_error(s.ToString());
  }
  ~Rig() {
    timer_service.reset();
    runner.reset();
  }

  void Run(const std::string& id, std::optional<LeadTrigger> trigger,
           const std::function<Status(const Lead&, LeadEvents&)>& build) {
    LeadCommand c;
    c.lead_id = id;
    c.trigger = trigger;
    c.build = build;
    c.actor = "test";
    ASSERT_OK(handler->Execute(c));
  }

  // Imports lead `id` and walks it to gold (enriched, queued, opener sent, gold label), with
  // a CallQueued in the gold label's unit. Returns the entry id.
  std::string GoldLead(const std::string& id, int role_score, int phone_no) {
    const std::string phone = Phone(phone_no);
    LeadCommand create;
    create.lead_id = id;
    create.build = [&](const Lead&, LeadEvents& out) {
      auto e = out.Add();
      auto sealed = out.SealPersonal(e, [&](es::schema::Personal::Builder p) {
        p.setFirstName("Pat" + id);
        p.setLastName("Smith");
        p.setState("NY");
      });
      if (!sealed.ok()) return sealed.status();
      auto li = e.getPayload().initLeadImported();
      li.setLeadId(id);
      li.setCompany("Acme " + id);
      li.setTitle("Owner");
      li.setRoleScore(role_score);
      li.setPersonal(Bytes(*sealed));
      return Status::Ok();
    };
    EXPECT_OK(handler->Create(create));
    const std::string hash = store->keys().BlindIndex(pj::kPhonePurpose, phone);
    Run(id, LeadTrigger::kEnrich, [&](const Lead&, LeadEvents& out) {
      auto e = out.Add();
      auto sealed = out.SealPersonal(
          e, [&](es::schema::Personal::Builder p) { p.initPhones(1).set(0, phone); });
      if (!sealed.ok()) return sealed.status();
      auto le = e.getPayload().initLeadEnriched();
      le.setHumanId("NXT-" + id);
      le.setPhoneType("mobile");
      le.setPersonal(Bytes(*sealed));
      le.setPhoneHash(Bytes(hash));
      return Status::Ok();
    });
    Run(id, LeadTrigger::kQueue, [&](const Lead&, LeadEvents& out) {
      out.Add().getPayload().initLeadQueued().setCampaignId("camp-1");
      return Status::Ok();
    });
    const std::string key = "sms:camp-1:" + id + ":opener";
    Run(id, std::nullopt, [&](const Lead&, LeadEvents& out) {
      auto i = out.Add().getPayload().initSmsSendIntended();
      i.setMessageKey(key);
      i.setKind("opener");
      i.setCampaignId("camp-1");
      return Status::Ok();
    });
    Run(id, LeadTrigger::kSent, [&](const Lead&, LeadEvents& out) {
      auto s = out.Add().getPayload().initSmsSent();
      s.setMessageKey(key);
      s.setProviderMessageId("P-" + id);
      s.setKind("opener");
      return Status::Ok();
    });
    std::string entry;
    auto wf = registry->Get("business-owners").value();
    Run(id, LeadTrigger::kGoldLabel, [&](const Lead& lead, LeadEvents& out) {
      auto g = out.Add().getPayload().initLeadGoldLabeled();
      g.setPhoneVerified(true);
      g.setGoldLabeledAt(out.now());
      entry = NextCallEntryId(lead);
      const double priority =
          CallPriority(*wf.workflow, lead.role_score, out.now(), out.now(), 1.0);
      out.events().push_back(MakeCallQueued(entry, priority, "camp-1", "gold_label"));
      return Status::Ok();
    });
    return entry;
  }

  Status CatchUp() { return runner->WaitFor(store->Head(), std::chrono::seconds(30)); }
  LeadState StateOf(const std::string& id) { return LoadLead(*store, id).value().state; }

  // The payload types of lead `id`'s stream, in order.
  std::vector<std::string> Types(const std::string& id) {
    std::vector<std::string> out;
    EXPECT_OK(store->ReadStream(LeadStreamId(id), 1, SIZE_MAX, [&](const es::EventView& v) {
      out.emplace_back(v.event().getType().cStr());
      return true;
    }));
    return out;
  }

  SimulatedClock clock;
  std::unique_ptr<es::EventStore> store;
  std::unique_ptr<pj::ReadModelStore> models;
  std::unique_ptr<pj::LeadsProjection> leads;
  std::unique_ptr<pj::SuppressionProjection> suppression;
  std::unique_ptr<pj::CallQueueProjection> calls;
  std::unique_ptr<pj::PendingTimers> timers;
  std::unique_ptr<pj::ProjectionRunner> runner;
  std::unique_ptr<WorkflowRegistry> registry;
  std::unique_ptr<LeadCommandHandler> handler;
  std::unique_ptr<TimerService> timer_service;
  std::unique_ptr<CallQueueService> service;
};

class CallQueueTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
};

size_t Count(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<size_t>(std::count(v.begin(), v.end(), s));
}

TEST(CallPriorityTest, WeighsRoleRecencyAndCampaign) {
  workflows::Workflow w;  // weights 0.5 / 0.3 / 0.2
  const Micros now = kStart;
  EXPECT_DOUBLE_EQ(CallPriority(w, 100, now, now), 1.0);
  EXPECT_GT(CallPriority(w, 100, now, now), CallPriority(w, 50, now, now));
  // Recency halves every two days.
  EXPECT_NEAR(CallPriority(w, 0, now - 48 * kHour, now, 0.0), 0.3 * 0.5, 1e-12);
  EXPECT_GT(CallPriority(w, 80, now - kHour, now), CallPriority(w, 80, now - 24 * kHour, now));
  EXPECT_GT(CallPriority(w, 80, now, now, 1.0), CallPriority(w, 80, now, now, 0.0));
  // Out-of-range inputs are clamped.
  EXPECT_DOUBLE_EQ(CallPriority(w, 250, now + kHour, now, 7.0), 1.0);
}

TEST(CallQueueIdsTest, EntryIdsNameTheirLead) {
  EXPECT_EQ(CallEntryId("42", 7), "call-42-7");
  EXPECT_EQ(LeadOfCallEntry("call-42-7").value(), "42");
  EXPECT_EQ(LeadOfCallEntry("call-a-b-c-9").value(), "a-b-c");
  EXPECT_FALSE(LeadOfCallEntry("mtg-42-7").ok());
  EXPECT_FALSE(LeadOfCallEntry("call-42").ok());
}

TEST_F(CallQueueTest, ListsHighestPriorityFirstThenOldest) {
  Rig rig(dir_.str());
  const std::string a = rig.GoldLead("1", 100, 1);
  rig.clock.AdvanceTo(kStart + kMinute);
  const std::string b = rig.GoldLead("2", 50, 2);
  rig.clock.AdvanceTo(kStart + 2 * kMinute);
  const std::string c = rig.GoldLead("3", 100, 3);
  ASSERT_OK(rig.CatchUp());

  auto page = rig.calls->List({}, 50, "");
  ASSERT_OK(page);
  ASSERT_EQ(page->items.size(), 3u);
  EXPECT_EQ(page->items[0].id, a);
  EXPECT_EQ(page->items[1].id, c);
  EXPECT_EQ(page->items[2].id, b);
  EXPECT_EQ(page->items[0].status, "pending");
  EXPECT_EQ(page->items[0].lead_id, "1");
  EXPECT_EQ(page->items[0].campaign_id, "camp-1");
  EXPECT_EQ(page->items[0].created_at, kStart);
  EXPECT_GT(page->items[1].priority, page->items[2].priority);

  // Paging keeps the order.
  auto first = rig.calls->List({}, 2, "");
  ASSERT_OK(first);
  ASSERT_EQ(first->items.size(), 2u);
  ASSERT_TRUE(first->next.has_value());
  auto second = rig.calls->List({}, 2, *first->next);
  ASSERT_OK(second);
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_EQ(second->items[0].id, b);
  EXPECT_FALSE(second->next.has_value());

  // Filters.
  ASSERT_OK(rig.service->Assign(c, "bob"));
  auto pending = rig.calls->List({"pending", "", ""}, 50, "");
  ASSERT_OK(pending);
  ASSERT_EQ(pending->items.size(), 2u);
  EXPECT_EQ(pending->items[0].id, a);
  auto bobs = rig.calls->List({"", "bob", ""}, 50, "");
  ASSERT_OK(bobs);
  ASSERT_EQ(bobs->items.size(), 1u);
  EXPECT_EQ(bobs->items[0].id, c);
  EXPECT_EQ(bobs->items[0].status, "assigned");
  auto other = rig.calls->List({"", "", "camp-2"}, 50, "");
  ASSERT_OK(other);
  EXPECT_TRUE(other->items.empty());
  EXPECT_EQ(rig.calls->List({"done", "", ""}, 50, "").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(CallQueueTest, AssigningAnEntryAnotherAgentHoldsIsAConflict) {
  Rig rig(dir_.str());
  const std::string e = rig.GoldLead("1", 100, 1);
  auto first = rig.service->Assign(e, "alice");
  ASSERT_OK(first);
  EXPECT_EQ(first->status, "assigned");
  EXPECT_EQ(first->assigned_to, "alice");
  // The same agent again: fine, and nothing new is written.
  const auto before = rig.Types("1").size();
  ASSERT_OK(rig.service->Assign(e, "alice"));
  EXPECT_EQ(rig.Types("1").size(), before);
  auto stolen = rig.service->Assign(e, "bob");
  EXPECT_EQ(stolen.status().code(), StatusCode::kConflict);
  EXPECT_NE(stolen.status().message().find("alice"), std::string::npos);
  // Completing as another agent is refused too.
  EXPECT_EQ(rig.service->Complete(e, "bob", "no_answer", "", std::nullopt).status().code(),
            StatusCode::kConflict);
  EXPECT_EQ(rig.service->Assign("call-1-999", "bob").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(rig.service->Assign("nope", "bob").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rig.service->Assign(e, "").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(CallQueueTest, NoAnswerVoicemailAndBookedMoveTheLeadToCalled) {
  Rig rig(dir_.str());
  int n = 0;
  for (const char* d : {"no_answer", "voicemail", "booked"}) {
    const std::string id = std::to_string(++n);
    const std::string e = rig.GoldLead(id, 90, n);
    ASSERT_OK(rig.service->Assign(e, "alice"));
    auto done = rig.service->Complete(e, "", d, "", std::nullopt);
    ASSERT_OK(done);
    EXPECT_EQ(done->status, "completed");
    EXPECT_EQ(done->disposition, d);
    EXPECT_EQ(done->assigned_to, "alice");
    EXPECT_EQ(rig.StateOf(id), LeadState::kCalled) << d;
    // Completed is final for the entry.
    EXPECT_EQ(rig.service->Complete(e, "", d, "", std::nullopt).status().code(),
              StatusCode::kConflict);
    EXPECT_EQ(rig.service->Assign(e, "alice").status().code(), StatusCode::kConflict);
  }
  ASSERT_OK(rig.CatchUp());
  auto completed = rig.calls->List({"completed", "", ""}, 50, "");
  ASSERT_OK(completed);
  EXPECT_EQ(completed->items.size(), 3u);
  auto lead = rig.leads->Get("1");
  ASSERT_OK(lead);
  EXPECT_EQ(lead->state, "called");
}

TEST_F(CallQueueTest, UnknownDispositionIsInvalid) {
  Rig rig(dir_.str());
  const std::string e = rig.GoldLead("1", 90, 1);
  auto r = rig.service->Complete(e, "alice", "hung_up", "", std::nullopt);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().field(), "disposition");
  EXPECT_EQ(rig.StateOf("1"), LeadState::kGold);
}

TEST_F(CallQueueTest, NotInterestedEndsTheLead) {
  Rig rig(dir_.str());
  const std::string e = rig.GoldLead("1", 90, 1);
  ASSERT_OK(rig.service->Complete(e, "alice", "not_interested", "", std::nullopt));
  EXPECT_EQ(rig.StateOf("1"), LeadState::kNotInterested);
  const auto types = rig.Types("1");
  EXPECT_EQ(types[types.size() - 2], "CallCompleted");
  EXPECT_EQ(types.back(), "LeadNotInterested");
}

TEST_F(CallQueueTest, WrongNumberSuppressesTheNumberForThatLead) {
  Rig rig(dir_.str());
  const std::string e = rig.GoldLead("1", 90, 7);
  ASSERT_OK(rig.CatchUp());
  ASSERT_OK(rig.service->Complete(e, "alice", "wrong_number", "", std::nullopt));
  EXPECT_EQ(rig.StateOf("1"), LeadState::kCalled);
  std::string hash;
  ASSERT_OK(rig.store->ReadStream(LeadStreamId("1"), 1, SIZE_MAX, [&](const es::EventView& v) {
    const auto p = v.event().getPayload();
    if (p.which() == es::schema::Event::Payload::NUMBER_SUPPRESSED) {
      const auto d = p.getNumberSuppressed().getPhoneHash();
      hash.assign(reinterpret_cast<const char*>(d.begin()), d.size());
      EXPECT_STREQ(p.getNumberSuppressed().getReason().cStr(), "wrong_number");
    }
    return true;
  }));
  EXPECT_EQ(hash, rig.store->keys().BlindIndex(pj::kPhonePurpose, Phone(7)));
  ASSERT_OK(rig.CatchUp());
  EXPECT_TRUE(rig.suppression->IsWrongNumberFor(hash, "1").value());
  EXPECT_FALSE(rig.suppression->IsOptedOut(hash).value());
}

TEST_F(CallQueueTest, NotesAreSealedUnderTheLeadsKey) {
  Rig rig(dir_.str());
  const std::string e = rig.GoldLead("1", 90, 1);
  const std::string notes = "Asked about pricing, wife is co-owner";
  ASSERT_OK(rig.service->Complete(e, "alice", "voicemail", notes, std::nullopt));
  bool seen = false;
  const Status read =
      rig.store->ReadStream(LeadStreamId("1"), 1, SIZE_MAX, [&](const es::EventView& v) {
        const auto p = v.event().getPayload();
        if (p.which() != es::schema::Event::Payload::CALL_COMPLETED) return true;
        seen = true;
        EXPECT_EQ(v.body().find("co-owner"), std::string_view::npos);
        EXPECT_STREQ(v.event().getKeySubject().cStr(), "lead-1");
        const auto sealed = p.getCallCompleted().getPersonal();
        auto opened = rig.store->keys().Open(
            "lead-1",
            std::string_view(reinterpret_cast<const char*>(sealed.begin()), sealed.size()));
        EXPECT_TRUE(opened.ok()) << opened.status().ToString();
        if (opened.ok()) {
          std::string opened_notes;
          EXPECT_OK(es::ReadPersonal(*opened, [&](es::schema::Personal::Reader pr) {
            opened_notes = pr.getNotes().cStr();
          }));
          EXPECT_EQ(opened_notes, notes);
        }
        return true;
      });
  ASSERT_OK(read);
  EXPECT_TRUE(seen);
}

TEST_F(CallQueueTest, CallbackRequeuesTheEntryAtCallbackAt) {
  Rig rig(dir_.str());
  const std::string e = rig.GoldLead("1", 90, 1);
  ASSERT_OK(rig.service->Assign(e, "alice"));
  // A callback needs a time, in the future.
  auto no_time = rig.service->Complete(e, "alice", "callback", "", std::nullopt);
  EXPECT_EQ(no_time.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(no_time.status().field(), "callbackAt");
  EXPECT_EQ(rig.service->Complete(e, "alice", "callback", "", kStart).status().code(),
            StatusCode::kInvalidArgument);

  const Micros at = kStart + 2 * kHour;
  auto done = rig.service->Complete(e, "alice", "callback", "call after lunch", at);
  ASSERT_OK(done);
  EXPECT_EQ(done->status, "completed");
  EXPECT_EQ(done->callback_at, at);
  EXPECT_EQ(rig.StateOf("1"), LeadState::kCalled);

  ASSERT_OK(rig.timer_service->AdvanceTo(at - kMicrosPerSecond));
  EXPECT_EQ(rig.service->Get(e)->status, "completed");
  ASSERT_OK(rig.timer_service->AdvanceTo(at + kHour));
  auto back = rig.service->Get(e);
  ASSERT_OK(back);
  EXPECT_EQ(back->status, "pending");
  EXPECT_TRUE(back->assigned_to.empty());
  EXPECT_EQ(back->disposition, "callback");

  Micros requeued_at = 0;
  ASSERT_OK(rig.store->ReadStream(LeadStreamId("1"), 1, SIZE_MAX, [&](const es::EventView& v) {
    if (v.event().getPayload().which() == es::schema::Event::Payload::CALL_REQUEUED) {
      requeued_at = v.event().getRecordedAt();
    }
    return true;
  }));
  EXPECT_EQ(requeued_at, at);
  ASSERT_OK(rig.CatchUp());
  auto pending = rig.calls->List({"pending", "", ""}, 50, "");
  ASSERT_OK(pending);
  ASSERT_EQ(pending->items.size(), 1u);
  EXPECT_EQ(pending->items[0].id, e);
  // The entry can be worked again.
  ASSERT_OK(rig.service->Assign(e, "bob"));
  ASSERT_OK(rig.service->Complete(e, "bob", "no_answer", "", std::nullopt));
  EXPECT_EQ(rig.Types("1").back(), "CallCompleted");
}

TEST_F(CallQueueTest, CallbackDoesNothingWhenTheLeadMovedOn) {
  Rig rig(dir_.str());
  const std::string e = rig.GoldLead("1", 90, 1);
  const Micros at = kStart + kHour;
  ASSERT_OK(rig.service->Complete(e, "alice", "callback", "", at));
  rig.Run("1", LeadTrigger::kNotInterested, [](const Lead&, LeadEvents& out) {
    auto n = out.Add().getPayload().initLeadNotInterested();
    n.setSource("reply");
    return Status::Ok();
  });
  ASSERT_OK(rig.timer_service->AdvanceTo(at + kHour));
  EXPECT_EQ(Count(rig.Types("1"), "CallRequeued"), 0u);
  EXPECT_EQ(Count(rig.Types("1"), "TimerFired"), 1u);
  EXPECT_EQ(rig.service->Get(e)->status, "completed");
}

}  // namespace
}  // namespace nextier::engine
