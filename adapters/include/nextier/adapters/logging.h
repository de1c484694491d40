// Logging through spdlog. Nothing logged may carry a secret or personal data in clear: API keys
// and webhook secrets are never passed to the logger, and free text (error messages, request
// paths) goes through MaskPii, which masks phone numbers and email addresses.
//
// Thread-safety: InitLogging once at start-up; LogInfo/LogWarn/LogError from any thread.
#pragma once

#include <string>
#include <string_view>

namespace nextier::adapters {

// Level: trace, debug, info, warn, error, off. Logs go to stderr.
void InitLogging(std::string_view level);

// "+15164079249" -> "+1*******249"-style masks keep only the last 3 digits of any run of 7 or
// more digits (separators kept); "john.doe@gmail.com" -> "j***@g***.com".
std::string MaskPii(std::string_view text);

// Each masks its message with MaskPii first.
void LogInfo(std::string_view message);
void LogWarn(std::string_view message);
void LogError(std::string_view message);

}  // namespace nextier::adapters
