#include "nextier/workflows/workflow.h"

#include <cstdio>

namespace nextier::workflows {

namespace {
constexpr std::string_view kReplyClassNames[kReplyClassCount] = {
    "OPT_OUT", "HELP", "EMAIL", "WRONG_NUMBER", "POSITIVE", "NEGATIVE", "QUESTION", "OTHER",
};
}  // namespace

std::string_view ReplyClassName(ReplyClass reply_class) {
  return kReplyClassNames[static_cast<int>(reply_class)];
}

std::optional<ReplyClass> ReplyClassFromName(std::string_view name) {
  for (int i = 0; i < kReplyClassCount; ++i) {
    if (kReplyClassNames[i] == name) return static_cast<ReplyClass>(i);
  }
  return std::nullopt;
}

std::string_view CampaignKindName(CampaignKind kind) {
  return kind == CampaignKind::kPlatformDemo ? "PLATFORM_DEMO" : "PARTNER_HANDOFF";
}

std::string_view VolumeTierName(VolumeTier /*tier*/) { return "LOW_VOLUME"; }

std::string_view TimeBasisName(TimeBasis /*basis*/) { return "recipient"; }

std::string TimeOfDay::ToString() const {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", hour % 100, minute % 100);
  return buf;
}

}  // namespace nextier::workflows
