// Inbound replies and delivery receipts -> events (see inbound.h).
#include "nextier/engine/inbound.h"

#include <capnp/message.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "nextier/engine/call_queue.h"
#include "nextier/engine/campaigns.h"
#include "nextier/engine/classifier.h"
#include "nextier/engine/forget.h"
#include "nextier/engine/lead.h"
#include "nextier/engine/lead_commands.h"
#include "nextier/engine/send_window.h"
#include "nextier/engine/sms_queue.h"
#include "nextier/eventstore/personal.h"

namespace nextier::engine {

namespace es = nextier::eventstore;
using Which = es::schema::Event::Payload::Which;

namespace {

capnp::Data::Reader DataOf(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(s.data()), s.size());
}
std::string Str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

// The lead's state as the unit's events move it, so that only legal events are added.
class StateTrack {
 public:
  explicit StateTrack(LeadState s) : state_(s) {}
  bool Try(LeadTrigger t) {
    if (!IsLegal(state_, t)) return false;
    state_ = ApplyTrigger(state_, t).value();
    return true;
  }
  LeadState state() const { return state_; }

 private:
  LeadState state_;
};

}  // namespace

struct InboundService::Impl {
  es::EventStore& store;
  const Clock& clock;
  WorkflowRegistry& workflows;
  projections::ProjectionRunner& runner;
  const projections::ConversationsProjection& conversations;
  const projections::LeadsProjection& leads;
  InboundOptions options;

  // Leads as last folded, by id. A reply folds only the events its lead gained since (a stream
  // only grows, so a cached fold plus the newer events is the whole fold); a lead texting often
  // is not replayed from its first event each time. Bounded: emptied when it grows too big.
  static constexpr size_t kLeadCacheSize = 20000;
  struct LeadCache {
    std::mutex mu;
    std::unordered_map<std::string, Lead> leads;
  };
  std::unique_ptr<LeadCache> lead_cache = std::make_unique<LeadCache>();

  // Whether the store holds delivery streams "delivery-<id>", which versions before the
  // delivery key wrote beside each reply. Looked up once, at the first reply: this version
  // never writes one. A store without them skips that look-up per reply.
  struct LegacyDeliveries {
    std::once_flag once;
    bool present = true;  // unknown (the look-up failed) counts as present
  };
  std::unique_ptr<LegacyDeliveries> legacy_deliveries = std::make_unique<LegacyDeliveries>();
  bool HasLegacyDeliveries() {
    std::call_once(legacy_deliveries->once, [&] {
      auto any = store.AnyStreamWithPrefix("delivery-");
      legacy_deliveries->present = !any.ok() || *any;
    });
    return legacy_deliveries->present;
  }

  // The rules' answer, with the outside classifier's opinion when one is configured and
  // answers in time (else the rules alone).
  Classified ClassifyWith(const workflows::Workflow& w, std::string_view body) {
    Classified rules = ClassifyReply(w, body);
    if (!options.external) return rules;
    auto opinion = options.external->Classify(body);
    if (!opinion.ok()) {
      rules.matched += " (model " + std::string(options.external->name()) +
                       " gave no opinion: " + opinion.status().message() + ")";
      return rules;
    }
    return Reconcile(rules, &*opinion, options.external->name());
  }

  Result<Lead> LoadLeadCached(const std::string& lead_id) {
    Lead lead;
    bool cached = false;
    {
      std::lock_guard lock(lead_cache->mu);
      if (auto it = lead_cache->leads.find(lead_id); it != lead_cache->leads.end()) {
        lead = it->second;
        cached = true;
      }
    }
    if (!cached) return RememberLead(LoadLead(store, lead_id));
    NEXTIER_RETURN_IF_ERROR(
        store.ReadStream(lead.stream, lead.version + 1, SIZE_MAX, [&](const es::EventView& ev) {
          Apply(lead, ev.event());
          return true;
        }));
    return RememberLead(std::move(lead));
  }

  Result<Lead> RememberLead(Result<Lead> lead) {
    if (!lead.ok()) return lead;
    std::lock_guard lock(lead_cache->mu);
    if (lead_cache->leads.size() >= kLeadCacheSize) lead_cache->leads.clear();
    auto [it, fresh] = lead_cache->leads.try_emplace(lead->id, *lead);
    if (!fresh && it->second.version < lead->version) it->second = *lead;
    return lead;
  }

  // The workflow a campaign pins, by campaign id, folded incrementally: a campaign's stream
  // holds every lead it queued and every batch, so replaying it for each reply (LoadCampaign)
  // cost more than the rest of the reply. Only CampaignCreated and CampaignMigrated matter here.
  struct PinnedWorkflow {
    uint64_t stream_version = 0;
    std::string id;
    std::string version;
  };
  struct CampaignCache {
    std::mutex mu;
    std::unordered_map<std::string, PinnedWorkflow> campaigns;
  };
  std::unique_ptr<CampaignCache> campaign_cache = std::make_unique<CampaignCache>();

  Result<PinnedWorkflow> CampaignWorkflow(const std::string& campaign_id) {
    PinnedWorkflow pinned;
    {
      std::lock_guard lock(campaign_cache->mu);
      if (auto it = campaign_cache->campaigns.find(campaign_id);
          it != campaign_cache->campaigns.end()) {
        pinned = it->second;
      }
    }
    const uint64_t from = pinned.stream_version + 1;
    NEXTIER_RETURN_IF_ERROR(store.ReadStream(
        CampaignStreamId(campaign_id), from, SIZE_MAX, [&](const es::EventView& ev) {
          const auto event = ev.event();
          const auto p = event.getPayload();
          pinned.stream_version = event.getStreamVersion();
          if (p.which() == Which::CAMPAIGN_CREATED) {
            pinned.id = Str(p.getCampaignCreated().getWorkflowId());
            pinned.version = Str(p.getCampaignCreated().getWorkflowVersion());
          } else if (p.which() == Which::CAMPAIGN_MIGRATED) {
            pinned.version = Str(p.getCampaignMigrated().getToVersion());
          }
          return true;
        }));
    if (pinned.id.empty()) return Status::NotFound("campaign " + campaign_id + " does not exist");
    std::lock_guard lock(campaign_cache->mu);
    if (campaign_cache->campaigns.size() >= kLeadCacheSize) campaign_cache->campaigns.clear();
    auto& slot = campaign_cache->campaigns[campaign_id];
    if (slot.stream_version < pinned.stream_version) slot = pinned;
    return pinned;
  }

  // The outcome of an earlier delivery of the same key, read back from the stored unit.
  Result<InboundOutcome> Original(const es::AppendResult& r) {
    InboundOutcome o;
    o.duplicate = true;
    bool found = false;
    NEXTIER_RETURN_IF_ERROR(store.ReadAll(r.first_seq,
                                          static_cast<size_t>(r.last_seq - r.first_seq + 1),
                                          [&](const es::EventView& v) {
                                            const auto p = v.event().getPayload();
                                            if (p.which() != Which::REPLY_RECEIVED) return true;
                                            const auto rr = p.getReplyReceived();
                                            if (rr.getLeadId().size() > 0)
                                              o.lead_id = Str(rr.getLeadId());
                                            o.classification = Str(rr.getClassification());
                                            o.gold_label = rr.getGoldLabel();
                                            found = true;
                                            return false;
                                          }));
    if (!found) return Status::Internal("inbound: the original reply of a repeat is missing");
    return o;
  }

  Result<std::shared_ptr<const workflows::Workflow>> WorkflowOf(const Lead* lead) {
    if (lead != nullptr && !lead->campaign_id.empty()) {
      auto c = CampaignWorkflow(lead->campaign_id);
      if (c.ok()) {
        auto wf = workflows.Get(c->id, c->version);
        if (wf.ok()) return wf->workflow;
      }
    }
    if (lead != nullptr && !lead->workflow_id.empty()) {
      auto wf = workflows.Get(lead->workflow_id, lead->workflow_version);
      if (wf.ok()) return wf->workflow;
    }
    auto wf = workflows.Get(options.default_workflow);
    if (wf.ok()) return wf->workflow;
    auto all = workflows.List();
    if (all.empty()) return Status::Unavailable("inbound: no workflow is loaded to classify by");
    return all.front().workflow;
  }

  // One attempt at storing a reply: either the answer already known (a delivery seen before),
  // or the unit to append with the outcome it stands for.
  struct Prepared {
    std::optional<InboundOutcome> known;
    std::vector<es::StreamAppend> unit;
    InboundOutcome out;
    std::vector<std::string> keys;  // the message's and the delivery's idempotency keys
  };

  Result<Prepared> Prepare(const InboundReply& in) {
    if (in.from.empty()) {
      return Status::InvalidArgument("the reply names no sender",
                                     "metaData.Message.senderPhoneNumber");
    }
    const std::string id = !in.message_id.empty() ? in.message_id : in.delivery_id;
    if (id.empty()) return Status::InvalidArgument("the reply has no identifier", "identifier");
    const std::string key = "inbound:" + id;
    const std::string from_hash = store.keys().BlindIndex(projections::kPhonePurpose, in.from);
    // A delivery id seen before (even with another message id) is the same delivery: the unit
    // is stored under its key too, and answers with the outcome of the first.
    const bool delivery_keyed = !in.delivery_id.empty() && in.delivery_id.size() <= 200;

    Prepared prepared;
    prepared.keys.push_back(key);
    if (delivery_keyed) prepared.keys.push_back("inbound-delivery:" + in.delivery_id);
    {
      if (delivery_keyed && HasLegacyDeliveries()) {
        // Stores written before the delivery key kept a stream per delivery instead.
        auto seen = DeliveredBefore("delivery-" + in.delivery_id);
        if (!seen.ok()) return seen.status();
        if (seen->has_value()) {
          prepared.known = std::move(**seen);
          return prepared;
        }
      }
      auto matched = conversations.LeadTextedAt(from_hash, in.to);
      if (!matched.ok()) return matched.status();
      std::optional<Lead> lead;
      // A forgotten lead is nobody we know any more: its number's reply is an orphan (its key is
      // destroyed, so nothing could be sealed under it anyway).
      bool forgotten_lead = false;
      if (matched->has_value()) {
        auto l = LoadLeadCached(**matched);
        if (l.ok() && l->forgotten) {
          forgotten_lead = true;
        } else if (l.ok()) {
          lead = std::move(*l);
        }
      }
      auto wf = WorkflowOf(lead ? &*lead : nullptr);
      if (!wf.ok()) return wf.status();
      const workflows::Workflow& w = **wf;
      const Classified c = ClassifyWith(w, in.body);
      InboundOutcome out;
      out.classification = std::string(workflows::ReplyClassName(c.reply_class));
      const Micros now = clock.Now();

      std::vector<es::StreamAppend> unit;
      if (!lead) {
        // An orphan: stored with its evidence, sealed under its own subject, with a new key the
        // event carries to the store.
        es::NewEvent e;
        auto b = e.builder();
        const std::string subject = OrphanSubject(id);
        auto sealed = SealReply(subject, in, c.email.value_or(""), &e.fresh_key());
        if (!sealed.ok()) return sealed.status();
        b.setKeySubject(subject);
        auto rr = b.getPayload().initReplyReceived();
        FillReply(rr, in, out.classification, false, from_hash, "", *sealed);
        b.setRecordedAt(now);
        b.setActor(options.actor);
        b.setCommandId(key);
        b.setCorrelationId(id);
        b.setCausationId(id);
        unit.push_back(
            es::StreamAppend{std::string(kOrphanRepliesStream), es::ExpectedVersion::Any(), {}});
        unit.back().events.push_back(std::move(e));
        if (forgotten_lead && c.reply_class == workflows::ReplyClass::kOptOut) {
          // A STOP from a forgotten lead's number still suppresses it, by blind index only.
          es::NewEvent n;
          auto ns = n.builder().getPayload().initNumberSuppressed();
          ns.setPhoneHash(DataOf(from_hash));
          ns.setReason("opt_out");
          n.builder().setRecordedAt(now);
          n.builder().setActor(options.actor);
          n.builder().setCommandId(key);
          n.builder().setCorrelationId(id);
          n.builder().setCausationId(id);
          unit.back().events.push_back(std::move(n));
        }
      } else {
        out.lead_id = lead->id;
        auto events = LeadEffects(*lead, w, c, in, id, key, from_hash, now, &out);
        if (!events.ok()) return events.status();
        unit.push_back(es::StreamAppend{lead->stream, es::ExpectedVersion::Exactly(lead->version),
                                        std::move(*events)});
      }
      prepared.unit = std::move(unit);
      prepared.out = std::move(out);
    }
    return prepared;
  }

  static constexpr int kAttempts = 6;  // a lead changing under a reply: prepare it again

  Result<InboundOutcome> Receive(const InboundReply& in) {
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      auto p = Prepare(in);
      if (!p.ok()) return p.status();
      if (p->known) return std::move(*p->known);
      auto r = store.AppendUnitUnderKeys(std::move(p->unit), std::move(p->keys));
      if (r.ok()) {
        if (r->duplicate) return Original(*r);
        return std::move(p->out);
      }
      if (r.status().code() != StatusCode::kConflict) return r.status();
    }
    return Status::Conflict("inbound: the lead kept changing while storing reply " + ReplyId(in));
  }

  static std::string ReplyId(const InboundReply& in) {
    return !in.message_id.empty() ? in.message_id : in.delivery_id;
  }

  // Receive without a thread waiting for the commit: prepared here, appended by the store's
  // writer, answered from its completion. Repeats and retries, which read the log, go to `post`.
  static void ReceiveAsync(std::shared_ptr<Impl> self, std::shared_ptr<const InboundReply> in,
                           std::function<void(std::function<void()>)> post,
                           std::function<void(Result<InboundOutcome>)> done, int attempt) {
    auto p = self->Prepare(*in);
    if (!p.ok()) return done(p.status());
    if (p->known) return done(std::move(*p->known));
    auto out = std::make_shared<InboundOutcome>(std::move(p->out));
    Impl& impl = *self;
    impl.store.AppendAsyncUnderKeys(
        std::move(p->unit), std::move(p->keys),
        [self = std::move(self), in = std::move(in), post = std::move(post), done = std::move(done),
         out, attempt](Result<es::AppendResult> r) mutable {
          if (r.ok() && !r->duplicate) return done(std::move(*out));
          if (r.ok()) {
            auto* poster = &post;
            return (*poster)([self, done = std::move(done), result = std::move(*r)] {
              done(self->Original(result));
            });
          }
          if (r.status().code() != StatusCode::kConflict) return done(r.status());
          if (attempt + 1 >= kAttempts) {
            return done(Status::Conflict("inbound: the lead kept changing while storing reply " +
                                         ReplyId(*in)));
          }
          auto* poster = &post;
          (*poster)([self = std::move(self), in = std::move(in), post, done = std::move(done),
                     attempt]() mutable {
            ReceiveAsync(std::move(self), std::move(in), std::move(post), std::move(done),
                         attempt + 1);
          });
        });
  }

  // The outcome stored with an earlier delivery of this id, or nullopt.
  Result<std::optional<InboundOutcome>> DeliveredBefore(const std::string& stream) {
    std::optional<InboundOutcome> found;
    NEXTIER_RETURN_IF_ERROR(store.ReadStream(stream, 1, 1, [&](const es::EventView& v) {
      const auto p = v.event().getPayload();
      if (p.which() != Which::OPAQUE) return false;
      const auto data = p.getOpaque().getData();
      auto j = nlohmann::json::parse(
          std::string_view(reinterpret_cast<const char*>(data.begin()), data.size()), nullptr,
          false);
      if (!j.is_object()) return false;
      InboundOutcome o;
      o.duplicate = true;
      if (j["leadId"].is_string()) o.lead_id = j["leadId"].get<std::string>();
      o.classification = j.value("classification", "");
      o.gold_label = j.value("goldLabel", false);
      found = std::move(o);
      return false;
    }));
    return found;
  }

  // "orphan:" then the wall-clock time in microseconds (16 hex digits) then the reply's id.
  // Ordered by time, each new orphan key lands at the end of the store's key table instead of
  // on a random page of it (a provider's ids look random): one page less synced per orphan.
  // Unique, since the id is; only ever read back from the event's keySubject.
  static std::string OrphanSubject(std::string_view id) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    char when[17];
    std::snprintf(when, sizeof when, "%016llx", static_cast<unsigned long long>(us));
    std::string subject(kOrphanSubjectPrefix);
    subject.append(when, 16).append(1, ':').append(id);
    return subject;
  }

  // Seals an orphan reply's personal data under a new key for `subject` (a new subject), put in
  // `fresh_key` for the event to carry to the store.
  Result<std::string> SealReply(const std::string& subject, const InboundReply& in,
                                const std::string& email, std::string* fresh_key) {
    capnp::MallocMessageBuilder message(256);  // 2 KiB: the default 8 KiB is zeroed per reply
    auto p = message.initRoot<es::schema::Personal>();
    p.setFromNumber(in.from);
    p.setToNumber(in.to);
    p.setBody(in.body);
    p.setRawBody(in.raw_body);
    if (!email.empty()) p.setEmail(email);
    return store.keys().SealNew(subject, es::EncodePersonal(message), fresh_key);
  }

  static void FillReply(es::schema::ReplyReceived::Builder rr, const InboundReply& in,
                        const std::string& classification, bool gold, const std::string& from_hash,
                        const std::string& lead_id, const std::string& sealed) {
    rr.setProviderMessageId(in.message_id);
    rr.setDeliveryId(in.delivery_id);
    rr.setPersonal(DataOf(sealed));
    rr.setClassification(classification);
    rr.setGoldLabel(gold);
    rr.setFromHash(DataOf(from_hash));
    rr.setLeadId(lead_id);
  }

  Result<std::vector<es::NewEvent>> LeadEffects(const Lead& lead, const workflows::Workflow& w,
                                                const Classified& c, const InboundReply& in,
                                                const std::string& id, const std::string& key,
                                                const std::string& from_hash, Micros now,
                                                InboundOutcome* out) {
    using workflows::ReplyClass;
    StateTrack state(lead.state);
    const ReplyClass cls = c.reply_class;
    const bool opt_out = cls == ReplyClass::kOptOut;
    // Gold needs an address and a lead the machine lets be labelled (sent or later).
    bool gold = false;
    if (cls == ReplyClass::kEmail && c.email.has_value()) {
      StateTrack probe(lead.state);
      (void)probe.Try(LeadTrigger::kReply);
      gold = probe.Try(LeadTrigger::kGoldLabel);
    }
    out->gold_label = gold;
    if (gold) out->email = *c.email;

    auto requests = [&](LeadEvents& ev, const std::string& kind, const std::string& tmpl,
                        const std::string& sms_key, std::map<std::string, std::string> values,
                        const std::string& email_from_reply = {}) {
      LeadSmsRequest r;
      r.lead_id = lead.id;
      r.kind = kind;
      r.template_name = tmpl;
      r.message_key = sms_key;
      r.values = std::move(values);
      r.email_from_reply = email_from_reply;
      r.campaign_id = lead.campaign_id;
      ev.events().push_back(RequestLeadSms(r, now));
    };
    auto has_auto_reply = [&](ReplyClass rc) { return w.templates.auto_replies.count(rc) > 0; };
    const std::string cls_name(workflows::ReplyClassName(cls));
    const std::string day = CarrierDayKey(now);

    LeadCommand cmd;
    cmd.lead_id = lead.id;
    cmd.actor = options.actor;
    cmd.idempotency_key = key;
    cmd.correlation_id = id;
    cmd.causation_id = id;
    cmd.workflow_id = w.id;
    cmd.workflow_version = w.version;
    cmd.build = [&](const Lead&, LeadEvents& ev) {
      {
        auto e = ev.Add();
        auto sealed = ev.SealPersonal(e, [&](es::schema::Personal::Builder p) {
          p.setFromNumber(in.from);
          p.setToNumber(in.to);
          p.setBody(in.body);
          p.setRawBody(in.raw_body);
          if (c.email) p.setEmail(*c.email);
        });
        if (!sealed.ok()) return sealed.status();
        // The sealed bytes are already set by SealPersonal's subject; fill the payload.
        FillReply(e.getPayload().initReplyReceived(), in, cls_name, gold, from_hash, lead.id,
                  *sealed);
      }
      if (opt_out && lead.state == LeadState::kOptedOut) {
        return Status::Ok();  // said before: the confirmation is already on its way, once
      }
      if (opt_out) {
        if (state.Try(LeadTrigger::kOptOut)) {
          auto o = ev.Add().getPayload().initLeadOptedOut();
          o.setSource("reply");
          o.setProviderMessageId(in.message_id);
          o.setPhoneHash(DataOf(from_hash));
        } else {
          // A lead the machine cannot move (never texted yet): the number is suppressed anyway.
          auto n = ev.Add().getPayload().initNumberSuppressed();
          n.setPhoneHash(DataOf(from_hash));
          n.setReason("opt_out");
        }
        for (const auto& t : lead.pending_timers) {
          if (t.id.rfind("sms:sms:optout:", 0) == 0) continue;  // the confirmation itself
          ev.events().push_back(MakeTimerCancelled(t.id, "opted out"));
        }
        if (!lead.open_call_entry_id.empty()) {
          auto cc = ev.Add().getPayload().initCallClosed();
          cc.setEntryId(lead.open_call_entry_id);
          cc.setReason("opted_out");
        }
        requests(ev, "optout", "optout", "sms:optout:" + lead.id, {});
        return Status::Ok();
      }
      if (state.Try(LeadTrigger::kReply)) {
        auto r = ev.Add().getPayload().initLeadResponded();
        r.setClassification(cls_name);
        r.setProviderMessageId(in.message_id);
      }
      // Any reply stops the follow-ups still waiting.
      for (const auto& t : lead.pending_timers) {
        if (t.id.rfind("sms:sms:followup:", 0) == 0) {
          ev.events().push_back(MakeTimerCancelled(t.id, "replied"));
        }
      }
      switch (cls) {
        case ReplyClass::kHelp:
          requests(ev, "help", "help", "sms:help:" + lead.id, {});
          break;
        case ReplyClass::kEmail:
          if (gold && state.Try(LeadTrigger::kGoldLabel)) {
            auto e = ev.Add();
            auto sealed = ev.SealPersonal(e, [&](es::schema::Personal::Builder p) {
              p.setEmail(*c.email);
              p.initPhones(1).set(0, in.from);
            });
            if (!sealed.ok()) return sealed.status();
            auto g = e.getPayload().initLeadGoldLabeled();
            g.setPersonal(DataOf(*sealed));
            g.setPhoneVerified(true);
            g.setGoldLabeledAt(now);
            g.setProviderMessageId(in.message_id);
            g.setEmailHash(DataOf(store.keys().BlindIndex("lead.email", *c.email)));
            if (lead.open_call_entry_id.empty()) {
              const double priority = CallPriority(w, lead.role_score, now, now);
              ev.events().push_back(
                  MakeCallQueued(NextCallEntryId(lead), priority, lead.campaign_id, "gold_label"));
            }
          }
          if (has_auto_reply(cls)) {
            // The address by reference: a timer's arguments are stored in clear, the reply
            // (this unit's first event) keeps it sealed.
            requests(ev, "autoreply", "autoreply:EMAIL", "sms:autoreply:" + lead.id + ":EMAIL", {},
                     in.message_id);
          }
          break;
        case ReplyClass::kPositive:
        case ReplyClass::kQuestion:
          if (has_auto_reply(cls)) {
            requests(ev, "autoreply", "autoreply:" + cls_name,
                     "sms:autoreply:" + lead.id + ":" + cls_name + ":" + day, {});
          }
          break;
        case ReplyClass::kNegative:
          if (state.Try(LeadTrigger::kNotInterested)) {
            auto n = ev.Add().getPayload().initLeadNotInterested();
            n.setSource("reply");
            // Not the text itself: this field is stored in clear, and the text is personal
            // (it is sealed in the ReplyReceived of the same unit).
            n.setReason("reply " + in.message_id + " classified " + cls_name);
          }
          if (has_auto_reply(cls)) {
            requests(ev, "autoreply", "autoreply:NEGATIVE",
                     "sms:autoreply:" + lead.id + ":NEGATIVE", {});
          }
          break;
        case ReplyClass::kWrongNumber: {
          auto n = ev.Add().getPayload().initNumberSuppressed();
          n.setPhoneHash(DataOf(from_hash));
          n.setReason("wrong_number");
          if (has_auto_reply(cls)) {
            requests(ev, "autoreply", "autoreply:WRONG_NUMBER",
                     "sms:autoreply:" + lead.id + ":WRONG_NUMBER", {});
          }
          break;
        }
        default:
          break;
      }
      return Status::Ok();
    };
    return PrepareLeadEvents(lead, cmd, store.keys(), now);
  }

  Result<ReceiptOutcome> Receipt(const DeliveryReceipt& r) {
    const bool delivered = r.event == "MESSAGE_DELIVERED";
    if (!delivered && r.event != "MESSAGE_FAILED") {
      return Status::InvalidArgument("unknown webhook event '" + r.event + "'", "event");
    }
    if (r.message_id.empty())
      return Status::InvalidArgument("the receipt has no identifier", "identifier");
    ReceiptOutcome out;
    auto lead_id = conversations.LeadOfMessage(r.message_id);
    if (!lead_id.ok()) return lead_id.status();
    if (!lead_id->has_value()) return out;  // not a message of ours: nothing to store
    out.lead_id = **lead_id;
    const std::string key = "receipt:" + r.event + ":" + r.message_id;
    for (int attempt = 0; attempt < 6; ++attempt) {
      auto lead = LoadLead(store, **lead_id);
      if (!lead.ok()) return lead.status();
      // A failure of the opener fails the lead only where the machine allows it (a lead that
      // already replied keeps its state; the receipt is then not stored as a state change).
      if (!delivered && lead->initial_message_id == r.message_id &&
          !IsLegal(lead->state, LeadTrigger::kDeliveryFailed)) {
        return out;
      }
      LeadCommand cmd;
      cmd.lead_id = lead->id;
      cmd.actor = options.actor;
      cmd.idempotency_key = key;
      cmd.correlation_id = r.message_id;
      cmd.build = [&](const Lead&, LeadEvents& ev) {
        if (delivered) {
          auto d = ev.Add().getPayload().initSmsDelivered();
          d.setProviderMessageId(r.message_id);
          d.setSegmentCount(r.segments);
        } else {
          auto f = ev.Add().getPayload().initSmsDeliveryFailed();
          f.setProviderMessageId(r.message_id);
          f.setReason(r.reason.empty() ? r.status : r.reason);
        }
        return Status::Ok();
      };
      auto events = PrepareLeadEvents(*lead, cmd, store.keys(), clock.Now());
      if (!events.ok()) return events.status();
      std::vector<es::StreamAppend> unit;
      unit.push_back(es::StreamAppend{lead->stream, es::ExpectedVersion::Exactly(lead->version),
                                      std::move(*events)});
      auto appended = store.AppendUnit(std::move(unit), key);
      if (appended.ok()) {
        out.duplicate = appended->duplicate;
        return out;
      }
      if (appended.status().code() != StatusCode::kConflict) return appended.status();
    }
    return Status::Conflict("inbound: the lead kept changing while storing receipt " +
                            r.message_id);
  }
};

InboundService::InboundService(es::EventStore& store, const Clock& clock,
                               WorkflowRegistry& workflows, projections::ProjectionRunner& runner,
                               const projections::ConversationsProjection& conversations,
                               const projections::LeadsProjection& leads, InboundOptions options)
    : impl_(std::make_shared<Impl>(
          Impl{store, clock, workflows, runner, conversations, leads, std::move(options)})),
      in_flight_(std::make_shared<InFlight>()) {}

struct InboundService::InFlight {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t count = 0;
};

Result<InboundOutcome> InboundService::Receive(const InboundReply& reply) {
  return impl_->Receive(reply);
}
void InboundService::ReceiveAsync(InboundReply reply,
                                  std::function<void(std::function<void()>)> post,
                                  std::function<void(Result<InboundOutcome>)> done) {
  {
    std::lock_guard lock(in_flight_->mu);
    ++in_flight_->count;
  }
  auto counted = [in_flight = in_flight_, done = std::move(done)](Result<InboundOutcome> r) {
    done(std::move(r));
    {
      std::lock_guard lock(in_flight->mu);
      --in_flight->count;
    }
    in_flight->cv.notify_all();
  };
  auto in = std::make_shared<const InboundReply>(std::move(reply));
  if (impl_->options.external) {
    // The outside classifier may block for its timeout: not on the caller's (I/O) thread.
    auto* poster = &post;
    return (
        *poster)([impl = impl_, in = std::move(in), post, counted = std::move(counted)]() mutable {
      Impl::ReceiveAsync(std::move(impl), std::move(in), std::move(post), std::move(counted), 0);
    });
  }
  Impl::ReceiveAsync(impl_, std::move(in), std::move(post), std::move(counted), 0);
}

bool InboundService::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(in_flight_->mu);
  return in_flight_->cv.wait_for(lock, timeout, [&] { return in_flight_->count == 0; });
}
Result<ReceiptOutcome> InboundService::Receipt(const DeliveryReceipt& receipt) {
  return impl_->Receipt(receipt);
}

}  // namespace nextier::engine
