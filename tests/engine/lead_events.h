// Test helpers: lead payloads filled with plausible values, for the fold and command tests.
#pragma once

#include <capnp/message.h>

#include <functional>
#include <string>
#include <vector>

#include "nextier/eventstore/event_store.h"

namespace nextier::engine::test {

namespace es = nextier::eventstore;
using Builder = es::schema::Event::Builder;
using Fill = std::function<void(Builder)>;

inline capnp::Data::Reader Bytes(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

inline Fill Imported(std::string lead_id = {}) {
  return [lead_id](Builder b) {
    auto x = b.getPayload().initLeadImported();
    x.setLeadId(lead_id);
    x.setFileId("file-1");
    x.setRow(7);
    x.setSource("usbizdata");
    x.setCompany("Acme Realty");
    x.setTitle("Owner");
    x.setRoleScore(100);
    x.setIsEntity(false);
    auto phones = x.initPhoneHashes(1);
    phones.set(0, Bytes("phone-hash-1"));
    x.setEmailHash(Bytes("email-hash-1"));
    x.setNameKeyHash(Bytes("name-key-1"));
  };
}
inline Fill Rejected() {
  return [](Builder b) {
    auto x = b.getPayload().initLeadRejected();
    x.setCode("entity");
    x.setReason("owner is an LLC");
  };
}
inline Fill Enriched(std::string human_id = "NXT-000042") {
  return [human_id](Builder b) {
    auto x = b.getPayload().initLeadEnriched();
    x.setJobId("job-1");
    x.setHumanId(human_id);
    x.setPhoneType("mobile");
    x.setPhoneHash(Bytes("phone-hash-2"));
  };
}
inline Fill Queued(std::string campaign = "camp-1", uint32_t block = 2, uint32_t batch = 3) {
  return [campaign, block, batch](Builder b) {
    auto x = b.getPayload().initLeadQueued();
    x.setCampaignId(campaign);
    x.setBlockNumber(block);
    x.setBatchNumber(batch);
  };
}
inline Fill Intended(std::string key, std::string kind = "opener") {
  return [key, kind](Builder b) {
    auto x = b.getPayload().initSmsSendIntended();
    x.setMessageKey(key);
    x.setKind(kind);
    x.setCampaignId("camp-1");
  };
}
inline Fill SmsSent(std::string key, std::string provider_id, std::string kind = "opener") {
  return [key, provider_id, kind](Builder b) {
    auto x = b.getPayload().initSmsSent();
    x.setMessageKey(key);
    x.setProviderMessageId(provider_id);
    x.setKind(kind);
  };
}
inline Fill SendFailed(std::string key, bool permanent) {
  return [key, permanent](Builder b) {
    auto x = b.getPayload().initSmsSendFailed();
    x.setMessageKey(key);
    x.setCode("30003");
    x.setPermanent(permanent);
  };
}
inline Fill Delivered(std::string provider_id) {
  return [provider_id](Builder b) {
    b.getPayload().initSmsDelivered().setProviderMessageId(provider_id);
  };
}
inline Fill DeliveryFailed(std::string provider_id) {
  return [provider_id](Builder b) {
    auto x = b.getPayload().initSmsDeliveryFailed();
    x.setProviderMessageId(provider_id);
    x.setReason("unreachable");
  };
}
inline Fill Reply(std::string classification = "POSITIVE") {
  return [classification](Builder b) {
    auto x = b.getPayload().initReplyReceived();
    x.setProviderMessageId("in-1");
    x.setClassification(classification);
  };
}
inline Fill Responded(std::string classification = "POSITIVE") {
  return [classification](Builder b) {
    b.getPayload().initLeadResponded().setClassification(classification);
  };
}
inline Fill GoldLabeled(int64_t at = 0) {
  return [at](Builder b) {
    auto x = b.getPayload().initLeadGoldLabeled();
    x.setGoldLabeledAt(at);
    x.setEmailHash(Bytes("email-hash-2"));
  };
}
inline Fill OptedOut(std::string source = "reply") {
  return [source](Builder b) { b.getPayload().initLeadOptedOut().setSource(source); };
}
inline Fill NotInterested() {
  return [](Builder b) { b.getPayload().initLeadNotInterested().setSource("reply"); };
}
inline Fill CallQueued(std::string entry) {
  return [entry](Builder b) {
    auto x = b.getPayload().initCallQueued();
    x.setEntryId(entry);
    x.setPriority(1.5);
  };
}
inline Fill CallAssigned(std::string entry, std::string agent) {
  return [entry, agent](Builder b) {
    auto x = b.getPayload().initCallAssigned();
    x.setEntryId(entry);
    x.setAgent(agent);
  };
}
inline Fill CallCompleted(std::string entry, std::string disposition) {
  return [entry, disposition](Builder b) {
    auto x = b.getPayload().initCallCompleted();
    x.setEntryId(entry);
    x.setAgent("agent:bob");
    x.setDisposition(disposition);
  };
}
inline Fill MeetingBooked(std::string id, int64_t starts_at) {
  return [id, starts_at](Builder b) {
    auto x = b.getPayload().initMeetingBooked();
    x.setMeetingId(id);
    x.setStartsAt(starts_at);
    x.setDurationMinutes(15);
  };
}
inline Fill MeetingCancelled(std::string id) {
  return [id](Builder b) { b.getPayload().initMeetingCancelled().setMeetingId(id); };
}
inline Fill MeetingRescheduled(std::string id, int64_t starts_at) {
  return [id, starts_at](Builder b) {
    auto x = b.getPayload().initMeetingRescheduled();
    x.setMeetingId(id);
    x.setStartsAt(starts_at);
  };
}
inline Fill TimerScheduled(std::string id, std::string kind, int64_t due_at) {
  return [id, kind, due_at](Builder b) {
    auto x = b.getPayload().initTimerScheduled();
    x.setTimerId(id);
    x.setKind(kind);
    x.setDueAt(due_at);
  };
}
inline Fill TimerFired(std::string id) {
  return [id](Builder b) { b.getPayload().initTimerFired().setTimerId(id); };
}
inline Fill TimerCancelled(std::string id) {
  return [id](Builder b) { b.getPayload().initTimerCancelled().setTimerId(id); };
}

// Events for a direct append (bypassing the command handler), recordedAt `at`.
inline std::vector<es::NewEvent> Events(std::initializer_list<Fill> fills, int64_t at = 0) {
  std::vector<es::NewEvent> out;
  for (const auto& fill : fills) {
    out.emplace_back();
    auto b = out.back().builder();
    b.setRecordedAt(at);
    fill(b);
  }
  return out;
}

}  // namespace nextier::engine::test
