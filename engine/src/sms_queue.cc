// The SMS queue: "sms" timers -> the sending rules -> SmsSendIntended (see sms_queue.h).
#include "nextier/engine/sms_queue.h"

#include <nlohmann/json.hpp>

#include "nextier/engine/campaigns.h"
#include "nextier/engine/lead.h"
#include "nextier/engine/lead_commands.h"
#include "nextier/engine/send_window.h"
#include "nextier/eventstore/personal.h"
#include "nextier/workflows/templates.h"
#include "sms_rules.h"

namespace nextier::engine {

namespace es = nextier::eventstore;

namespace {

// Kinds that answer a text the person just wrote: carriers require the answer, so quiet hours
// and the cap do not hold them back (they still count).
bool Conversational(std::string_view kind) { return kind == "help" || kind == "optout"; }

// The workflow template `name` names, or nullptr.
const workflows::Template* FindTemplate(const workflows::Workflow& w, std::string_view name) {
  const auto& t = w.templates;
  if (name == "help") return &t.help;
  if (name == "optout") return &t.opt_out_confirmation;
  if (name == "confirmation") return &t.meeting_confirmation;
  if (name == "reminder:24h") return &t.reminders.before_24h;
  if (name == "reminder:1h") return &t.reminders.before_1h;
  if (name == "reminder:15m") return &t.reminders.before_15m;
  if (name.rfind("autoreply:", 0) == 0) {
    auto cls = workflows::ReplyClassFromName(name.substr(10));
    if (!cls) return nullptr;
    auto it = t.auto_replies.find(*cls);
    return it == t.auto_replies.end() ? nullptr : &it->second;
  }
  if (name.rfind("followup:", 0) == 0) {
    for (const auto& f : t.follow_ups) {
      if (f.name == name.substr(9)) return &f.body;
    }
  }
  return nullptr;
}

// The email sealed in the ReplyReceived `message_id` of `stream`, or "" (none, or forgotten).
std::string EmailOfReply(es::EventStore& store, const std::string& stream,
                         std::string_view message_id) {
  std::string email;
  (void)store.ReadStream(stream, 1, SIZE_MAX, [&](const es::EventView& v) {
    const auto e = v.event();
    if (e.getPayload().which() != es::schema::Event::Payload::REPLY_RECEIVED) return true;
    const auto r = e.getPayload().getReplyReceived();
    if (std::string_view(r.getProviderMessageId().cStr()) != message_id) return true;
    const auto sealed = r.getPersonal();
    auto plain = store.keys().Open(
        std::string_view(e.getKeySubject().cStr()),
        std::string_view(reinterpret_cast<const char*>(sealed.begin()), sealed.size()));
    if (!plain.ok()) return false;
    if (!es::ReadPersonal(*plain, [&](es::schema::Personal::Reader p) {
           email = p.getEmail().cStr();
         }).ok()) {
      email.clear();
    }
    return false;
  });
  return email;
}

}  // namespace

es::NewEvent RequestLeadSms(const LeadSmsRequest& r, Micros now) {
  nlohmann::json args = {{"kind", r.kind},
                         {"template", r.template_name},
                         {"key", r.message_key},
                         {"campaign", r.campaign_id},
                         {"values", r.values}};
  if (!r.email_from_reply.empty()) args["emailFromReply"] = r.email_from_reply;
  return MakeTimerScheduled("sms:" + r.message_key, now, "sms", LeadStreamId(r.lead_id),
                            args.dump());
}

struct SmsQueue::Impl {
  es::EventStore& store;
  WorkflowRegistry& workflows;
  const projections::LeadsProjection& leads;
  const projections::SuppressionProjection& suppression;

  Result<std::vector<es::StreamAppend>> Fire(const FiredTimer& t) {
    std::vector<es::StreamAppend> effects;
    auto args = nlohmann::json::parse(t.args, nullptr, false);
    if (!args.is_object() || !args.contains("key") || !args["key"].is_string() ||
        !args.contains("kind") || !args.contains("template")) {
      return Status::InvalidArgument("sms timer " + t.timer_id + " has malformed arguments");
    }
    const std::string kind = args["kind"].get<std::string>();
    const std::string template_name = args["template"].get<std::string>();
    const std::string key = args["key"].get<std::string>();
    const std::string lead_id(std::string_view(t.target).substr(sizeof("lead-") - 1));
    auto lead = LoadLead(store, lead_id);
    if (!lead.ok()) return lead.status();

    // The lead's state decides first.
    if (lead->state == LeadState::kOptedOut && kind != "optout") return effects;
    if (kind == "followup" && lead->state != LeadState::kSent) return effects;  // it replied

    std::string campaign_id = args.value("campaign", std::string());
    if (campaign_id.empty()) campaign_id = lead->campaign_id;
    auto campaign = LoadCampaign(store, campaign_id);
    if (!campaign.ok()) {
      return Status::InvalidArgument("lead " + lead_id + " has no campaign to text from (" +
                                     campaign.status().message() + ")");
    }
    auto wf = workflows.Get(campaign->workflow_id, campaign->workflow_version);
    if (!wf.ok()) return wf.status();
    const workflows::Workflow& w = *wf->workflow;

    auto view = leads.Get(lead_id);
    if (!view.ok()) return view.status();
    if (view->phones.empty() || view->forgotten) return effects;
    const std::string phone = view->phones.front();
    const std::string hash = store.keys().BlindIndex(projections::kPhonePurpose, phone);
    auto why = internal::SuppressionReason(suppression, lead_id, hash, /*opener=*/false);
    if (!why.ok()) return why.status();
    // The one text an opted-out number still gets is its confirmation; the apology for a wrong
    // number goes to the number that just told us so.
    const bool allowed = why->empty() || (*why == "opted_out" && kind == "optout") ||
                         (*why == "wrong_number" && template_name == "autoreply:WRONG_NUMBER");
    if (!allowed) return effects;

    internal::CapTally cap;
    NEXTIER_RETURN_IF_ERROR(cap.Begin(store, campaign->from_number, t.fired_at));
    Micros defer_until = 0;
    if (!Conversational(kind)) {
      const SendWindow window =
          CheckSendWindow(t.fired_at, phone, view->state_code, w.limits.quiet_hours);
      if (!window.known) return effects;  // no zone: never send
      if (!window.open) {
        defer_until = window.opens_at;
      } else if (cap.Full(w.limits.daily_sms_cap)) {
        defer_until = NextCarrierDayStart(t.fired_at);
      }
    }
    std::vector<es::NewEvent> events;
    if (defer_until != 0) {
      events.push_back(MakeTimerScheduled("sms:" + key + ":" + std::to_string(defer_until),
                                          defer_until, "sms", t.target, t.args));
    } else {
      const workflows::Template* tmpl = FindTemplate(w, template_name);
      if (tmpl == nullptr) {
        return Status::InvalidArgument("workflow " + w.id + " has no template " + template_name);
      }
      workflows::TemplateValues values{
          {"firstName", view->first_name.empty() ? "there" : view->first_name},
          {"lastName", view->last_name},
          {"company", view->company.empty() ? "your business" : view->company},
          {"aiWorker", campaign->ai_worker},
          {"brand", w.signalhouse.brand_name},
          {"fromNumber", campaign->from_number},
          {"partner", w.handoff_partner ? w.handoff_partner->name : w.signalhouse.brand_name},
          {"email", view->email},
          {"agentName", "our team"},
          {"meetingTime", ""},
          {"link", ""},
      };
      if (args.contains("values") && args["values"].is_object()) {
        for (const auto& [k, v] : args["values"].items()) {
          if (v.is_string()) values[k] = v.get<std::string>();
        }
      }
      if (args.contains("emailFromReply") && args["emailFromReply"].is_string()) {
        std::string email =
            EmailOfReply(store, lead->stream, args["emailFromReply"].get<std::string>());
        if (!email.empty()) values["email"] = std::move(email);
      }
      auto body = workflows::Render(tmpl->text, values);
      if (!body.ok()) return body.status();
      cap.Count(key, lead_id, kind);
      const internal::IntentFields fields{key,           kind,  campaign->id, campaign->from_number,
                                          template_name, *body, hash,         cap.day()};
      LeadCommand cmd;
      cmd.lead_id = lead_id;
      cmd.correlation_id = campaign->id;
      cmd.workflow_id = campaign->workflow_id;
      cmd.workflow_version = campaign->workflow_version;
      cmd.build = [&](const Lead&, LeadEvents& out) {
        auto e = out.Add();
        auto sealed = out.SealPersonal(e, [&](es::schema::Personal::Builder p) {
          p.setToNumber(phone);
          p.setFromNumber(campaign->from_number);
          p.setBody(*body);
        });
        if (!sealed.ok()) return sealed.status();
        internal::FillIntent(e.getPayload().initSmsSendIntended(), fields, *sealed);
        return Status::Ok();
      };
      auto prepared = PrepareLeadEvents(*lead, cmd, store.keys(), t.fired_at);
      if (!prepared.ok()) return prepared.status();
      events = std::move(*prepared);
    }
    effects.push_back(es::StreamAppend{lead->stream, es::ExpectedVersion::Exactly(lead->version),
                                       std::move(events)});
    cap.AppendTo(effects);
    return effects;
  }
};

SmsQueue::SmsQueue(es::EventStore& store, WorkflowRegistry& workflows,
                   const projections::LeadsProjection& leads,
                   const projections::SuppressionProjection& suppression)
    : impl_(std::make_shared<Impl>(Impl{store, workflows, leads, suppression})) {}

void SmsQueue::RegisterTimerHandlers(TimerService& timers) {
  std::shared_ptr<Impl> impl = impl_;
  timers.RegisterHandler("sms", [impl](const FiredTimer& t) { return impl->Fire(t); });
}

}  // namespace nextier::engine
