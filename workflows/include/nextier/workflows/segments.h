// SMS segment counting: which encoding a text needs (GSM-7 or UCS-2) and how many segments it
// costs, so ops see what a curly quote or an emoji does to a template.
//
// Rules (3GPP TS 23.038 / 23.040, as carriers bill them):
// - A text is GSM-7 when every character is in the GSM 03.38 default alphabet or its extension
//   table; otherwise the whole text is sent as UCS-2.
// - GSM-7 counts septets: extension characters ( ^ { } \ [ ] ~ | € and form feed) take two.
//   One segment holds 160 septets; a concatenated message holds 153 per part, and an extension
//   character's two septets are never split across parts.
// - UCS-2 counts UTF-16 code units: characters beyond the Basic Multilingual Plane (most emoji)
//   take two. One segment holds 70 units; a concatenated message holds 67 per part, and a
//   surrogate pair is never split across parts.
// - Invalid UTF-8 bytes count as U+FFFD (which forces UCS-2). The empty text has 0 segments.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

namespace nextier::workflows {

enum class SmsEncoding { kGsm7, kUcs2 };

// "GSM-7" or "UCS-2".
std::string_view SmsEncodingName(SmsEncoding encoding);

struct SegmentInfo {
  SmsEncoding encoding = SmsEncoding::kGsm7;
  // Length in the encoding's units: septets for GSM-7 (extension characters count 2), UTF-16
  // code units for UCS-2 (characters outside the BMP count 2).
  int characters = 0;
  int segments = 0;

  bool operator==(const SegmentInfo&) const = default;
};

// The encoding, length and segment count of `utf8` sent as one SMS.
SegmentInfo CountSegments(std::string_view utf8);

}  // namespace nextier::workflows
