// LeadIndexProjection: the dedupe lookups of the data hub. Maps a keyed hash (KeyRing::BlindIndex
// of an E.164 phone, an email, or a normalised name + company + ZIP) to the lead that first
// carried it. First writer wins: a later lead with the same hash never replaces the entry, so a
// duplicate always points at the original.
//
// Folding: LeadImported adds its phoneHashes, emailHash and nameKeyHash; LeadEnriched adds its
// phoneHash (the number skip trace found). The lead id is taken from LeadImported.leadId, or
// from the stream id ("lead-<id>") for LeadEnriched. LeadForgotten drops every entry the lead
// holds: a forgotten person is no longer known to the data hub, so a later file naming them
// imports a new lead (whose number the suppression list still guards, see sending.h).
//
// Writing: the hashes are random, so one put each would descend the tree to a cold leaf. A
// batch's hashes are kept in memory and written by Flush, sorted, through one cursor (a
// LeadForgotten flushes first, so it drops what its own batch added). A million-row import's
// catch-up went from 17-23 s to 13-18 s.
//
// Tables (part of the format; bump version() when changing them):
//   lead_index.keys     key = kind (1 byte: 'p' phone, 'e' email, 'n' name+company+zip) || hash
//                       value = lead id
//   lead_index.by_lead  key = lead id || 0x00 || kind || hash -> ""  (the entries of `keys`
//                       the lead holds, to drop them when it is forgotten)
//
// Thread-safety: queries may run from any thread, concurrently with the runner applying.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nextier/common/status.h"
#include "nextier/projections/projection.h"
#include "nextier/projections/read_model_store.h"

namespace nextier::projections {

enum class LeadKeyKind : char { kPhone = 'p', kEmail = 'e', kNameCompanyZip = 'n' };

// "phone", "email", "name_company_zip" (DuplicateFound.matchedBy).
std::string_view LeadKeyKindName(LeadKeyKind kind);
// The BlindIndex purpose used for each kind: "lead.phone", "lead.email", "lead.name_key".
std::string_view LeadKeyPurpose(LeadKeyKind kind);

class LeadIndexProjection final : public Projection {
 public:
  // Opens (creating) the table in `store`, which must outlive the projection.
  static Result<std::unique_ptr<LeadIndexProjection>> Open(ReadModelStore& store);

  std::string_view name() const override { return "lead_index"; }
  uint32_t version() const override { return 2; }
  std::vector<Table> tables() const override { return {keys_, by_lead_}; }
  Status Apply(Txn& txn, const eventstore::EventView& event) override;
  // A batch's keys are kept and written here, sorted, first writer (by seq) still winning.
  Status Flush(Txn& txn) override;
  void Discard() override { pending_.clear(); }

  // The lead that first carried `hash` of `kind`, or nullopt; inside the caller's transaction.
  Result<std::optional<std::string>> Find(const Txn& txn, LeadKeyKind kind,
                                          std::string_view hash) const;
  // The same in a fresh read transaction.
  Result<std::optional<std::string>> Find(LeadKeyKind kind, std::string_view hash) const;
  ReadModelStore& store() const { return store_; }

 private:
  explicit LeadIndexProjection(ReadModelStore& store) : store_(store) {}
  // Keeps `hash` of `kind` for `lead_id` until Flush; the first lead to carry it keeps it.
  void PutFirst(LeadKeyKind kind, std::string_view hash, std::string_view lead_id);
  Status DropLead(Txn& txn, std::string_view lead_id);

  ReadModelStore& store_;
  Table keys_, by_lead_;
  // This batch's keys not yet written, in the order of their events.
  struct Pending {
    std::string key;  // the kind's byte, then the hash
    std::string lead_id;
  };
  std::vector<Pending> pending_;
};

}  // namespace nextier::projections
