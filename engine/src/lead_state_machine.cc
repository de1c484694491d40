// The lead state machine: a Boost.MSM transition table (DESIGN.md, "Shape"), and ApplyTrigger.
//
// The MSM table below is the one definition of which trigger may fire in which state. MSM's back
// end cannot be started in an arbitrary state (its state array is private), so asking a machine
// per command would mean replaying events to reach the lead's state first. Instead, on first use
// the machine is explored once from `raw`: every trigger is fired in every state it reaches
// (copying the machine at each step), MSM's no_transition handler marking the illegal ones. The
// outcome is a dense [state][trigger] table and ApplyTrigger is one array read. Nothing but MSM
// decides the table's contents, and the exploration also proves every state reachable from raw.
// Measured (-O2, this box): IsLegal/ApplyTrigger ~4 ns; an illegal ApplyTrigger ~140 ns (it
// builds the message); a fresh MSM machine plus one event ~5 ns, before any replay. Against the
// fold and the durable append of a command, all of it is noise.
//
// The table has more than 20 rows, more than Boost.MPL's preprocessed headers allow: the limits
// are raised here, before any Boost include. Keep it that way: this is the only file that
// includes MSM, nothing from it leaks into a header, and every type instantiated with these MPL
// settings lives in the anonymous namespace below (so no symbol built under them is shared with
// another translation unit that includes MPL with the defaults).
#define BOOST_MPL_CFG_NO_PREPROCESSED_HEADERS
#define BOOST_MPL_LIMIT_VECTOR_SIZE 40
#define BOOST_MPL_LIMIT_MAP_SIZE 40

#include <array>
#include <boost/msm/back/state_machine.hpp>
#include <boost/msm/front/state_machine_def.hpp>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <utility>

#include "nextier/engine/lead_state.h"

namespace nextier::engine {

namespace {

namespace msm = boost::msm;
namespace mpl = boost::mpl;

// One MSM event type per trigger, one MSM state type per LeadState.
template <LeadTrigger T>
struct On {};

template <LeadState S>
struct In : msm::front::state<> {
  static constexpr LeadState kState = S;
};

using Raw = In<LeadState::kRaw>;
using Enriched = In<LeadState::kEnriched>;
using Queued = In<LeadState::kQueued>;
using Sent = In<LeadState::kSent>;
using Responded = In<LeadState::kResponded>;
using Gold = In<LeadState::kGold>;
using Called = In<LeadState::kCalled>;
using Booked = In<LeadState::kBooked>;
using Rejected = In<LeadState::kRejected>;
using NoHit = In<LeadState::kNoHit>;
using Failed = In<LeadState::kFailed>;
using OptedOut = In<LeadState::kOptedOut>;
using NotInterested = In<LeadState::kNotInterested>;

namespace ev {
using Enrich = On<LeadTrigger::kEnrich>;
using Reject = On<LeadTrigger::kReject>;
using NoHit = On<LeadTrigger::kNoHit>;
using Queue = On<LeadTrigger::kQueue>;
using Sent = On<LeadTrigger::kSent>;
using DeliveryFailed = On<LeadTrigger::kDeliveryFailed>;
using Reply = On<LeadTrigger::kReply>;
using GoldLabel = On<LeadTrigger::kGoldLabel>;
using NotInterested = On<LeadTrigger::kNotInterested>;
using CallCompleted = On<LeadTrigger::kCallCompleted>;
using Book = On<LeadTrigger::kBook>;
using CancelMeeting = On<LeadTrigger::kCancelMeeting>;
using RescheduleMeeting = On<LeadTrigger::kRescheduleMeeting>;
using OptOut = On<LeadTrigger::kOptOut>;
}  // namespace ev

struct LeadMachineDef : msm::front::state_machine_def<LeadMachineDef> {
  using no_exception_thrown = int;  // no action or guard here can throw
  using no_message_queue = int;     // no event is ever raised from inside another
  using initial_state = Raw;

  // clang-format off
  struct transition_table : mpl::vector<
      //    from           event                   to
      _row< Raw,           ev::Enrich,             Enriched      >,
      _row< Raw,           ev::Reject,             Rejected      >,
      _row< Raw,           ev::NoHit,              NoHit         >,
      _row< Enriched,      ev::Queue,              Queued        >,
      _row< Queued,        ev::Sent,               Sent          >,
      _row< Queued,        ev::DeliveryFailed,     Failed        >,
      _row< Sent,          ev::DeliveryFailed,     Failed        >,
      _row< Sent,          ev::Reply,              Responded     >,
      _row< Sent,          ev::GoldLabel,          Gold          >,
      _row< Responded,     ev::GoldLabel,          Gold          >,
      _row< Responded,     ev::NotInterested,      NotInterested >,
      _row< Gold,          ev::NotInterested,      NotInterested >,
      _row< Called,        ev::NotInterested,      NotInterested >,
      _row< Gold,          ev::CallCompleted,      Called        >,
      _row< Gold,          ev::Book,               Booked        >,
      _row< Called,        ev::Book,               Booked        >,
      _row< Booked,        ev::CancelMeeting,      Called        >,
      // Opt-out: from every state from `sent` on; opted_out has no way out.
      _row< Sent,          ev::OptOut,             OptedOut      >,
      _row< Responded,     ev::OptOut,             OptedOut      >,
      _row< Gold,          ev::OptOut,             OptedOut      >,
      _row< Called,        ev::OptOut,             OptedOut      >,
      _row< Booked,        ev::OptOut,             OptedOut      >,
      _row< NotInterested, ev::OptOut,             OptedOut      >,
      _row< Failed,        ev::OptOut,             OptedOut      >,
      // Legal, and the state stays.
      _irow<Responded,     ev::Reply                             >,
      _irow<Gold,          ev::Reply                             >,
      _irow<Called,        ev::Reply                             >,
      _irow<Booked,        ev::Reply                             >,
      _irow<NotInterested, ev::Reply                             >,
      _irow<Gold,          ev::GoldLabel                         >,
      // A further call (a callback, a no-answer retried) keeps a called lead called.
      _irow<Called,        ev::CallCompleted                     >,
      _irow<Booked,        ev::CallCompleted                     >,
      _irow<Booked,        ev::RescheduleMeeting                 >
  > {};
  // clang-format on

  // Every trigger a state has no row for lands here: that is what makes it illegal.
  template <class Fsm, class Event>
  void no_transition(const Event&, Fsm&, int) {
    illegal = true;
  }

  bool illegal = false;
};

using LeadMachine = msm::back::state_machine<LeadMachineDef>;
using Table = LeadMachine::stt;  // the back end's rows, which MSM numbers states by

static_assert(mpl::size<LeadMachine::state_list>::value == kLeadStateCount,
              "every LeadState must appear in the MSM table, and nothing else");

// MSM's state id (its index in the table's state set) -> LeadState.
template <class... S>
std::array<LeadState, kLeadStateCount> StatesById() {
  std::array<LeadState, kLeadStateCount> out{};
  ((out[msm::back::get_state_id<Table, S>::value] = S::kState), ...);
  return out;
}

// Fires trigger T into a machine: LeadTrigger (a runtime value) -> MSM event (a type).
using Fire = void (*)(LeadMachine&);
template <LeadTrigger T>
void FireOne(LeadMachine& m) {
  m.process_event(On<T>{});
}
template <size_t... I>
constexpr std::array<Fire, kLeadTriggerCount> MakeFire(std::index_sequence<I...>) {
  return {&FireOne<static_cast<LeadTrigger>(I)>...};
}
constexpr std::array<Fire, kLeadTriggerCount> kFire =
    MakeFire(std::make_index_sequence<kLeadTriggerCount>());

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "lead state machine: %s\n", what.c_str());
  std::abort();
}

// next[from][trigger]: the state reached, or -1 when the trigger is illegal in `from`.
struct DenseTable {
  std::array<std::array<int8_t, kLeadTriggerCount>, kLeadStateCount> next;
};

DenseTable Explore() {
  const auto by_id = StatesById<Raw, Enriched, Queued, Sent, Responded, Gold, Called, Booked,
                                Rejected, NoHit, Failed, OptedOut, NotInterested>();
  DenseTable t;
  std::array<bool, kLeadStateCount> seen{};
  auto state_of = [&by_id](const LeadMachine& m) { return by_id[m.current_state()[0]]; };

  std::deque<LeadMachine> frontier;
  frontier.emplace_back();
  frontier.back().start();
  seen[static_cast<size_t>(state_of(frontier.back()))] = true;
  while (!frontier.empty()) {
    const LeadMachine& m = frontier.front();
    const auto from = static_cast<size_t>(state_of(m));
    for (size_t trig = 0; trig < kLeadTriggerCount; ++trig) {
      LeadMachine next = m;  // m is const: the real copy constructor
      next.illegal = false;
      kFire[trig](next);
      if (next.illegal) {
        t.next[from][trig] = -1;
        continue;
      }
      const auto to = static_cast<size_t>(state_of(next));
      t.next[from][trig] = static_cast<int8_t>(to);
      if (!seen[to]) {
        seen[to] = true;
        // Copy from a const lvalue: MSM's forwarding constructor (arguments for the front end)
        // would win over its copy constructor for a non-const or moved machine and start a fresh
        // machine in raw instead.
        frontier.push_back(std::as_const(next));
      }
    }
    frontier.pop_front();
  }
  for (LeadState s : kAllLeadStates) {
    if (!seen[static_cast<size_t>(s)]) {
      Die("state " + std::string(LeadStateName(s)) + " is unreachable from raw");
    }
  }
  return t;
}

const DenseTable& Dense() {
  static const DenseTable table = Explore();
  return table;
}

}  // namespace

bool IsLegal(LeadState from, LeadTrigger trigger) {
  const auto s = static_cast<size_t>(from);
  const auto t = static_cast<size_t>(trigger);
  return s < kLeadStateCount && t < kLeadTriggerCount && Dense().next[s][t] >= 0;
}

Result<LeadState> ApplyTrigger(LeadState from, LeadTrigger trigger) {
  const auto s = static_cast<size_t>(from);
  const auto t = static_cast<size_t>(trigger);
  if (s >= kLeadStateCount || t >= kLeadTriggerCount) {
    return Status::InvalidArgument("no such lead state or trigger: " + std::to_string(s) + ", " +
                                   std::to_string(t));
  }
  const int8_t next = Dense().next[s][t];
  if (next >= 0) return static_cast<LeadState>(next);
  return Status::Conflict(IllegalTriggerMessage("lead", from, trigger));
}

}  // namespace nextier::engine
