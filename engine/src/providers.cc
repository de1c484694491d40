#include "nextier/engine/providers.h"

namespace nextier::engine {

std::optional<SkipTracePhone> ChooseSkipTracePhone(const SkipTraceAnswer& answer) {
  const SkipTracePhone* fallback = nullptr;
  for (const SkipTracePhone& p : answer.phones) {
    if (p.do_not_call || !p.connected || p.number.empty()) continue;
    if (p.type == "mobile") return p;
    if (fallback == nullptr && p.type != "landline") fallback = &p;
  }
  if (fallback != nullptr) return *fallback;
  return std::nullopt;
}

}  // namespace nextier::engine
